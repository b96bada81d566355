"""mypy-only: the Flask-SQLAlchemy / Flask-Login API added for drop-in use stays typed.

Run by ``tests/test_typing.py``. Each ``type: ignore`` marks a line that must be a type error;
``warn_unused_ignores`` (part of ``--strict``) fails if it isn't.
"""

from __future__ import annotations

from typing import Any
from typing import assert_type

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from erlen.ext.login import decode_cookie
from erlen.ext.login import encode_cookie
from erlen.ext.login import FlaskLoginClient
from erlen.ext.login.utils import set_login_view
from erlen.ext.sqlalchemy import Model
from erlen.ext.sqlalchemy import Pagination
from erlen.ext.sqlalchemy import Query
from erlen.ext.sqlalchemy import SQLAlchemy
from erlen.ext.sqlalchemy.model import camel_to_snake_case
from erlen.ext.sqlalchemy.record_queries import get_recorded_queries
from erlen.testing import FlaskClient


class Base(Model, DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base, disable_autonaming=False)


class Note(Base):
    id: Mapped[int] = mapped_column(primary_key=True)


# db.Table is a Table class; the legacy query interface is typed as SQLAlchemy's Query.
assert_type(db.Table("tag", sa.Column("id", sa.Integer, primary_key=True)), sa.Table)
assert_type(db.Table("tag", sa.Column("id", sa.Integer), bind_key="other"), sa.Table)
assert_type(Note.query, Query[Any])
assert_type(Note.query.paginate(page=1), Pagination)
assert_type(db.get_or_404(Note, 1, options=[]), Note)
assert_type(db.Query, type[Query[Any]])
assert_type(camel_to_snake_case("HTTPLog"), str)
assert_type(get_recorded_queries()[0].duration, float)

Note.query.paginate(1)  # type: ignore[call-arg]  # keyword-only, as in Flask-SQLAlchemy

assert_type(encode_cookie("1"), str)
assert_type(decode_cookie("1|x"), str | None)
client_class: type[FlaskClient] = FlaskLoginClient
set_login_view("login", blueprint=None)
set_login_view(1)  # type: ignore[arg-type]
