"""The declarative base of every model: erlen's ``Model`` behaviour on a class mypy can see.

``db.Model`` is an attribute, and a type checker can't derive a class from an attribute;
``SQLAlchemy(model_class=Base)`` makes ``db.Model`` this very class (see erlen's
``docs/ext/sqlalchemy.md``). Models import it from here, never from ``web.extensions``.
"""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.sqlalchemy import Model
from erlen.ext.sqlalchemy import NAMING_CONVENTION
from sqlalchemy import DateTime
from sqlalchemy import Dialect
from sqlalchemy import MetaData
from sqlalchemy import TypeDecorator
from sqlalchemy.orm import DeclarativeBase

#: The largest value an ``Integer`` column holds (Postgres ``integer``, four bytes): ids
#: beyond it can't name a row, and Postgres refuses to compare a column with them.
INTEGER_MAX = 2**31 - 1


class Base(Model, DeclarativeBase):
    """The base of the starter's models (``db.Model``)."""

    # A declarative base brings its own metadata, so it names constraints the way a fresh
    # db.Model would: the migrations already use these names (pk_users, uq_users_username).
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp with its time zone, read back as an aware UTC datetime on every database.

    Postgres keeps the zone; SQLite (``make dev``, the fast tests) stores the text without
    it and hands back naive datetimes, which would reach JSON as times without an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
