"""The declarative base of every model: erlen's ``Model`` behaviour on a class mypy can see.

``db.Model`` is an attribute, and a type checker can't derive a class from an attribute;
``SQLAlchemy(model_class=Base)`` makes ``db.Model`` this very class (see erlen's
``docs/ext/sqlalchemy.md``). Models import it from here, never from ``web.extensions``.
"""

from __future__ import annotations

from erlen.ext.sqlalchemy import Model
from erlen.ext.sqlalchemy import NAMING_CONVENTION
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: The largest value an ``Integer`` column holds (Postgres ``integer``, four bytes): ids
#: beyond it can't name a row, and Postgres refuses to compare a column with them.
INTEGER_MAX = 2**31 - 1


class Base(Model, DeclarativeBase):
    """The base of the starter's models (``db.Model``)."""

    # A declarative base brings its own metadata, so it names constraints the way a fresh
    # db.Model would: the migrations already use these names (pk_users, uq_users_username).
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
