"""The declarative base behind ``db.Model``: automatic table names, binds and a readable repr."""

from __future__ import annotations

import re
import types
import typing as t

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm import has_inherited_table

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


def snake_case(name: str) -> str:
    """Turn a class name into a table name: ``HTTPRequestLog`` → ``http_request_log``."""
    return _WORD_BOUNDARY.sub("_", name).lower().lstrip("_")


def _declares_primary_key(cls: type) -> bool:
    """Whether the class body itself (not a parent) declares a primary key column."""
    for value in vars(cls).values():
        if isinstance(value, sa_orm.MappedColumn) and value.column.primary_key:
            return True
        if isinstance(value, sa.Column) and value.primary_key:
            return True
    table_args = vars(cls).get("__table_args__")
    if isinstance(table_args, tuple):
        return any(isinstance(arg, sa.PrimaryKeyConstraint) for arg in table_args)
    return False


def _default_table_name(cls: type) -> str | None:
    if has_inherited_table(cls) and not _declares_primary_key(cls):
        return None
    return snake_case(cls.__name__)


class Model:
    """What every model of a :class:`~erlen.ext.sqlalchemy.SQLAlchemy` extension shares.

    - ``__tablename__`` defaults to the class name in snake case (``UserEmail`` →
      ``user_email``). A subclass of a mapped model that declares no primary key of its own is
      single-table inheritance and shares its parent's table; one that does gets its own.
    - ``__bind_key__ = "name"`` puts the model's table in the metadata of the bind ``name``
      from ``SQLALCHEMY_BINDS``, so the session queries that database for it.
    - ``repr()`` shows the class and the primary key: ``<User 1>``.

    ``db.Model`` has it already. To subclass a base that mypy can see, mix it into your own::

        class Base(Model, DeclarativeBase):
            pass

        db = SQLAlchemy(model_class=Base)  # db.Model is Base
    """

    if t.TYPE_CHECKING:  # pragma: no cover
        metadata: t.ClassVar[sa.MetaData]
        registry: t.ClassVar[sa_orm.registry]
        __erlen_sqlalchemy__: t.ClassVar[SQLAlchemy]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        # Before declarative maps the class (in a later __init_subclass__ of the chain), so
        # that its table is created in the right bind's metadata.
        _use_bind_metadata(cls)
        super().__init_subclass__(**kwargs)

    @declared_attr.directive
    def __tablename__(cls) -> str | None:
        # Declarative calls this on the class being mapped; mypy sees an instance method.
        return _default_table_name(t.cast(type, cls))

    def __repr__(self) -> str:
        state = sa.inspect(self)
        if state.transient:
            key = "(transient)"
        elif state.pending:
            key = "(pending)"
        else:
            key = ", ".join(str(value) for value in state.identity or ())
        return f"<{type(self).__name__} {key}>"


def _use_bind_metadata(cls: type[Model]) -> None:
    """Give a model with a ``__bind_key__`` the metadata of that bind."""
    db = getattr(cls, "__erlen_sqlalchemy__", None)
    if db is None or "__table__" in vars(cls) or "metadata" in vars(cls):
        return
    metadata = db.bind_metadata(getattr(cls, "__bind_key__", None))
    if getattr(cls, "metadata", None) is not metadata:
        cls.metadata = metadata


def _is_declarative_base(cls: type) -> bool:
    return isinstance(getattr(cls, "registry", None), sa_orm.registry)


def make_model_class(
    db: SQLAlchemy, model_class: type | None, metadata: sa.MetaData | None
) -> type[Model]:
    """Build ``db.Model`` for an extension.

    :param model_class: ``None`` for a fresh base; a declarative base (``DeclarativeBase``
        subclass) to share its registry and metadata; or a plain class to mix into a fresh
        base.
    :param metadata: The metadata of a fresh base (for a custom naming convention).
    """
    namespace: dict[str, t.Any] = {"__module__": __name__}
    base: type[Model]

    if model_class is not None and _is_declarative_base(model_class):
        if metadata is not None:
            raise TypeError(
                "Pass either a declarative 'model_class' or 'metadata', not both; set"
                " 'metadata' on the model class instead."
            )
        if issubclass(model_class, Model):
            base = model_class
        else:
            # An abstract subclass adds our behaviour to the user's models while sharing the
            # user's registry, metadata and type annotation map.
            namespace["__abstract__"] = True
            namespace["__module__"] = model_class.__module__
            base = types.new_class(
                model_class.__name__,
                (Model, model_class),
                {},
                lambda ns: ns.update(namespace),
            )
    else:
        namespace["metadata"] = metadata or sa.MetaData(naming_convention=NAMING_CONVENTION)
        namespace["__doc__"] = "The declarative base of this extension's models."
        bases: tuple[type, ...] = (Model, DeclarativeBase)
        if model_class is not None:
            # A plain mixin of the user's, e.g. with columns every table has.
            mixins = (model_class,) if issubclass(model_class, Model) else (model_class, Model)
            bases = (*mixins, DeclarativeBase)
        base = types.new_class("Model", bases, {}, lambda ns: ns.update(namespace))

    # Set after the class exists: subclasses look for it to find their bind's metadata.
    base.__erlen_sqlalchemy__ = db
    return base
