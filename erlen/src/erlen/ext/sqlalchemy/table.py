"""``db.Table``: a :class:`sqlalchemy.Table` whose metadata is implied by a bind key."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import SQLAlchemy


class TableFactory(t.Protocol):
    """How ``db.Table`` is called: a name, then columns and constraints, with the metadata
    given or implied by ``bind_key``.
    """

    def __call__(
        self, name: str, *args: t.Any, bind_key: str | None = None, **kwargs: t.Any
    ) -> sa.Table: ...


def make_table_class(db: SQLAlchemy) -> TableFactory:
    """The ``db.Table`` of an extension.

    ``db.Table("user_book", db.Column(...), ...)`` puts the table in the default bind's
    metadata, ``bind_key="name"`` in that bind's. With an explicit metadata as second
    argument it is a plain :class:`sqlalchemy.Table` (and ``bind_key`` is ignored).
    """

    class Table(sa.Table):
        # SQLAlchemy builds the table in __new__ and makes the later __init__ call a no-op.
        def __new__(cls, *args: t.Any, bind_key: str | None = None, **kwargs: t.Any) -> t.Any:
            base: t.Any = super()
            if not args or (len(args) >= 2 and isinstance(args[1], sa.MetaData)):
                # Explicit metadata, or no name at all (for SQLAlchemy's own error).
                return base.__new__(cls, *args, **kwargs)
            metadata = db.bind_metadata(bind_key)
            return base.__new__(cls, args[0], metadata, *args[1:], **kwargs)

        def __init__(self, *args: t.Any, bind_key: str | None = None, **kwargs: t.Any) -> None:
            super().__init__(*args, **kwargs)

    Table.__module__ = sa.Table.__module__
    Table.__qualname__ = Table.__name__ = "Table"
    return t.cast(TableFactory, Table)
