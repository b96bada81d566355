"""The ORM session: one per application context, routed to each model's bind."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as sa_orm

from erlen.globals import get_app_context

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import SQLAlchemy


def app_ctx_id() -> int:
    """The scope of ``db.session``: the identity of the active application context.

    The session is removed when the context tears down, so an id is never reused while a
    session is still registered under it.
    """
    return id(get_app_context("SQLAlchemy"))


def _bind_key_of(table: sa.FromClause) -> tuple[bool, str | None]:
    """``(found, key)``: the bind key recorded on the table's metadata, if it is a table."""
    if isinstance(table, sa.Table) and "bind_key" in table.metadata.info:
        return True, table.metadata.info["bind_key"]
    return False, None


def _tables_of(clause: sa.ClauseElement) -> t.Iterator[sa.FromClause]:
    """The tables a statement reads or writes, for statements that name them directly."""
    if isinstance(clause, sa.Table):
        yield clause
    elif isinstance(clause, sa.sql.dml.UpdateBase):
        table = getattr(clause, "table", None)
        if isinstance(table, sa.Table):
            yield table
    elif isinstance(clause, sa.Select):
        yield from clause.get_final_froms()


class Session(sa_orm.Session):
    """A :class:`sqlalchemy.orm.Session` that picks the engine by the model's bind.

    A model whose ``__bind_key__`` names a bind in ``SQLALCHEMY_BINDS`` is queried on that
    bind's engine; everything else goes to the default engine. The engines are those of the
    app whose context created the session.

    :param db: The extension the session belongs to.
    :param kwargs: Passed to :class:`sqlalchemy.orm.Session`.
    """

    def __init__(self, db: SQLAlchemy, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._db = db
        # The session never outlives its app context, so its app's engines are fixed.
        self._engines = db.engines

    def get_bind(
        self,
        mapper: t.Any | None = None,
        *,
        clause: sa.ClauseElement | None = None,
        bind: sa.Engine | sa.Connection | None = None,
        **kwargs: t.Any,
    ) -> sa.Engine | sa.Connection:
        """The engine for a model or statement: its bind's engine, else the default one."""
        if bind is not None:
            return bind
        engines = self._engines

        candidates: list[sa.FromClause] = []
        if mapper is not None:
            try:
                info = sa.inspect(mapper)
            except sa_exc.NoInspectionAvailable:
                if isinstance(mapper, type):
                    raise sa_orm.exc.UnmappedClassError(mapper) from None
                raise
            candidates.append(info.local_table)
        if clause is not None:
            candidates.extend(_tables_of(clause))

        for table in candidates:
            found, key = _bind_key_of(table)
            if not found:
                continue
            try:
                return engines[key]
            except KeyError:
                raise sa_exc.UnboundExecutionError(
                    f"Bind key {key!r} is not in 'SQLALCHEMY_BINDS' config."
                ) from None

        if None in engines:
            return engines[None]
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


#: What a function that takes "a session" should declare: a plain
#: :class:`sqlalchemy.orm.Session` (a script's, a test's) or ``db.session``.
#:
#: ``db.session`` is a :class:`~sqlalchemy.orm.scoped_session`, a proxy that forwards each
#: method to the current context's session; it is not a ``Session`` subclass, so annotating
#: it as one would be a lie ``isinstance`` disproves. Both members of this union offer the
#: same typed methods (``add``, ``get``, ``execute``, ``scalars``, ``commit``, ...), so code
#: written against it is checked against each and works with either::
#:
#:     def post_message(*, session: SessionLike, body: str) -> Message: ...
#:
#:     post_message(session=db.session, body="hi")  # in a view or a job
#:     post_message(session=Session(engine), body="hi")  # in a script
SessionLike: t.TypeAlias = sa_orm.Session | sa_orm.scoped_session[t.Any]
