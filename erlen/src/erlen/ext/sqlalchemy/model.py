"""The declarative base behind ``db.Model``: automatic table names, binds, the legacy
``Model.query`` and a readable repr.

Two kinds of base behave the same way, as in Flask-SQLAlchemy 3.1:

- SQLAlchemy 2 bases (``DeclarativeBase``, ``DeclarativeBaseNoMeta``, with or without
  ``MappedAsDataclass``), passed as ``model_class``: :class:`Model`'s ``__init_subclass__``
  names each model's table and picks its bind's metadata before SQLAlchemy maps it.
- The default ``db.Model`` (and ``declarative_base(cls=Model, metaclass=DefaultMeta)``):
  the metaclass :class:`DefaultMeta` does the same before its mapping.
"""

from __future__ import annotations

import re
import typing as t

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import DeclarativeBaseNoMeta
from sqlalchemy.orm import DeclarativeMeta
from sqlalchemy.orm import declared_attr

from .query import Query

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import SQLAlchemy

# A word starts at an upper-case letter that follows a lower-case letter or digit ("userId"),
# or at the last capital of an acronym that starts a new word ("HTTPRequest").
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

#: Constraint names for a fresh ``db.Model``. Named constraints make migrations reproducible:
#: Alembic can only drop or alter (and, on SQLite, rebuild) a constraint it can name.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def camel_to_snake_case(name: str) -> str:
    """Turn a class name into a table name: ``HTTPRequestLog`` → ``http_request_log``."""
    return _WORD_BOUNDARY.sub("_", name).lower().lstrip("_")


#: The name erlen used first; the same function.
snake_case = camel_to_snake_case


class _QueryProperty:
    """``Model.query``: a legacy :class:`~.query.Query` for the model, in ``db.session``."""

    def __get__(self, obj: Model | None, cls: type[Model]) -> Query[t.Any]:
        return cls.query_class(cls, session=cls.__erlen_sqlalchemy__.session())


class Model:
    """What every model of a :class:`~erlen.ext.sqlalchemy.SQLAlchemy` extension shares.

    - ``__tablename__`` defaults to the class name in snake case (``UserEmail`` →
      ``user_email``). A subclass of a mapped model whose table would have no primary key
      column is single-table inheritance and shares its parent's table; one with a primary
      key (its own, or from a mixin) gets its own table (joined inheritance).
    - ``__bind_key__ = "name"`` puts the model's table in the metadata of the bind ``name``
      from ``SQLALCHEMY_BINDS``, so the session queries that database for it.
    - ``repr()`` shows the class and the primary key: ``<User 1>``.
    - ``Model.query`` is the legacy query interface (``User.query.filter_by(...)``); prefer
      ``db.session.execute(db.select(User))`` in new code.

    ``db.Model`` has it already. To subclass a base that mypy can see, mix it into your own::

        class Base(Model, DeclarativeBase):
            pass

        db = SQLAlchemy(model_class=Base)  # db.Model is Base
    """

    if t.TYPE_CHECKING:  # pragma: no cover
        metadata: t.ClassVar[sa.MetaData]
        registry: t.ClassVar[sa_orm.registry]
        __erlen_sqlalchemy__: t.ClassVar[SQLAlchemy]

    #: The class of :attr:`query` (legacy); ``db.Query`` unless changed.
    query_class: t.ClassVar[type[Query[t.Any]]] = Query
    #: A legacy :class:`~.query.Query` for this model in ``db.session``.
    query: t.ClassVar[Query[t.Any]] = _QueryProperty()  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        # Legacy bases run the same steps in DefaultMeta.__init__, after this.
        if isinstance(cls, DefaultMeta):
            super().__init_subclass__(**kwargs)
            return
        # Before declarative maps the class (in a later __init_subclass__ of the chain).
        _prepare(cls)
        super().__init_subclass__(**kwargs)
        _after_mapping(cls)

    @classmethod
    def __table_cls__(cls, *args: t.Any, **kwargs: t.Any) -> sa.Table | None:
        return _table_or_inherit(cls, args, kwargs)

    def __repr__(self) -> str:
        state = sa.inspect(self)
        if state.transient:
            key = f"(transient {id(self)})"
        elif state.pending:
            key = f"(pending {id(self)})"
        else:
            key = ", ".join(str(value) for value in state.identity or ())
        return f"<{type(self).__name__} {key}>"


class DefaultMeta(DeclarativeMeta):
    """The metaclass of the default (SQLAlchemy 1.x style) ``db.Model``: table names and
    bind metadata as :class:`Model` describes, decided before the class is mapped.
    """

    def __init__(
        cls, name: str, bases: tuple[type, ...], namespace: dict[str, t.Any], **kwargs: t.Any
    ) -> None:
        _prepare(cls)
        super().__init__(name, bases, namespace, **kwargs)
        _after_mapping(cls)

    def __table_cls__(cls, *args: t.Any, **kwargs: t.Any) -> sa.Table | None:
        return _table_or_inherit(cls, args, kwargs)


def _autonaming(cls: type) -> bool:
    db = getattr(cls, "__erlen_sqlalchemy__", None)
    return db is None or not db._disable_autonaming


def _is_declarative(cls: type) -> bool:
    return isinstance(cls, DeclarativeMeta) or issubclass(
        cls, (DeclarativeBase, DeclarativeBaseNoMeta)
    )


def _is_declarative_base(cls: type) -> bool:
    """Whether ``cls`` is a base of models rather than a model."""
    if DeclarativeBase in cls.__bases__ or DeclarativeBaseNoMeta in cls.__bases__:
        return True
    return "_sa_registry" in vars(cls) or "registry" in vars(cls)


def _should_set_tablename(cls: type) -> bool:
    """Whether to give ``cls`` a generated ``__tablename__`` (read from class dicts only,
    so no declared attribute or property runs before mapping).
    """
    if vars(cls).get("__abstract__", False) or _is_declarative_base(cls):
        return False
    if not any(_is_declarative(base) for base in cls.__mro__[1:]):
        return False
    for base in cls.__mro__:
        if "__tablename__" not in vars(base):
            continue
        if isinstance(vars(base)["__tablename__"], declared_attr):
            return False  # declarative calls it for each class
        if base is cls:
            return False  # set by hand
        # A name given by an abstract class or a plain mixin is meant to be inherited; a
        # mapped parent's name is its own table's, and a subclass gets a name of its own
        # (kept only for joined inheritance; see _table_or_inherit).
        return not (vars(base).get("__abstract__", False) or not _is_declarative(base))
    return True


def _prepare(cls: type) -> None:
    """Before mapping: the bind's metadata, and the table name."""
    _use_bind_metadata(cls)
    if _autonaming(cls) and _should_set_tablename(cls):
        cls.__tablename__ = camel_to_snake_case(cls.__name__)  # type: ignore[attr-defined]


def _after_mapping(cls: type) -> None:
    # __table_cls__ answered None (single-table inheritance); the parent's table is used.
    if (
        "__tablename__" not in vars(cls)
        and "__table__" in vars(cls)
        and vars(cls)["__table__"] is None
    ):
        del cls.__table__  # type: ignore[attr-defined]


def _table_or_inherit(
    cls: type, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> sa.Table | None:
    """Make the model's table, or answer ``None`` for single-table inheritance: a subclass
    of a mapped model whose table would have no primary key.
    """
    name, metadata = args[0], args[1]
    schema = kwargs.get("schema", metadata.schema)
    key = name if schema is None else f"{schema}.{name}"
    if key in metadata.tables:
        return sa.Table(*args, **kwargs)
    for arg in args:
        if isinstance(arg, sa.PrimaryKeyConstraint) or (
            isinstance(arg, sa.Column) and arg.primary_key
        ):
            return sa.Table(*args, **kwargs)
    if not any("__table__" in vars(base) for base in cls.__mro__[1:-1]):
        # No parent table: let SQLAlchemy say that there is no primary key.
        return sa.Table(*args, **kwargs)
    if "__tablename__" in vars(cls):
        del cls.__tablename__  # type: ignore[attr-defined]
    return None


def _use_bind_metadata(cls: type) -> None:
    """Give a model with a ``__bind_key__`` the metadata of that bind."""
    db = getattr(cls, "__erlen_sqlalchemy__", None)
    if db is None or "__table__" in vars(cls) or "metadata" in vars(cls):
        return
    metadata = db.bind_metadata(getattr(cls, "__bind_key__", None))
    if getattr(cls, "metadata", None) is not metadata:
        cls.metadata = metadata  # type: ignore[attr-defined]


def make_model_class(
    db: SQLAlchemy, model_class: type | None, metadata: sa.MetaData | None
) -> type[Model]:
    """Build ``db.Model`` for an extension.

    :param model_class: ``None`` for a fresh base; a declarative base (a ``DeclarativeBase``
        subclass, or a ``declarative_base()``) to share its registry and metadata; or a
        plain class (:class:`Model` or a mixin) to build a fresh base from.
    :param metadata: The metadata of a fresh base (for a custom naming convention).
    """
    import warnings

    base: type[t.Any]
    if model_class is not None and isinstance(model_class, DeclarativeMeta):
        # A legacy declarative base of the user's own: used as it is.
        base = model_class
        if metadata is not None:
            base.metadata = metadata
    elif model_class is not None and issubclass(
        model_class, (DeclarativeBase, DeclarativeBaseNoMeta)
    ):
        if issubclass(model_class, DeclarativeBase) and issubclass(
            model_class, DeclarativeBaseNoMeta
        ):
            raise ValueError(
                "Only one of DeclarativeBase or DeclarativeBaseNoMeta may be a base of"
                f" {model_class.__name__!r}."
            )
        if metadata is not None:
            warnings.warn(
                "The 'metadata' argument is ignored for a SQLAlchemy 2 'model_class'; set"
                " 'metadata' on the model class instead.",
                DeprecationWarning,
                stacklevel=3,
            )
        if issubclass(model_class, Model):
            base = model_class
        else:
            # An abstract subclass adds our behaviour to the user's models while sharing the
            # user's registry, metadata and type annotation map.
            metaclass: t.Any = type(model_class)
            base = metaclass(
                model_class.__name__,
                (Model, model_class),
                {"__abstract__": True, "__module__": model_class.__module__},
            )
    else:
        mixins: tuple[type, ...] = (Model,)
        if model_class is not None and model_class is not Model:
            mixins = (model_class,) if issubclass(model_class, Model) else (model_class, Model)
        base = sa_orm.declarative_base(
            cls=t.cast(t.Any, mixins),  # a tuple of bases is accepted
            name="Model",
            metaclass=DefaultMeta,
            metadata=metadata or sa.MetaData(naming_convention=NAMING_CONVENTION),
        )
        base.__doc__ = "The declarative base of this extension's models."

    # Set after the class exists: subclasses look for it to find their bind's metadata.
    base.__erlen_sqlalchemy__ = db
    base.query_class = db.Query
    base.query = _QueryProperty()
    return t.cast("type[Model]", base)
