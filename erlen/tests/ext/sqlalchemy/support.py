"""Test support shared by the sqlalchemy and migrate tests: Postgres databases and models.

Postgres is expected at 127.0.0.1:5432 with trust auth, as ``$PGUSER`` (default
``postgres``): one throwaway database per test session, and a schema per test inside it.
Without it the Postgres tests are skipped with the reason in the summary; in CI they fail
instead, so CI can't pass without having run them (``erlen.pytest_tiers``).

Both conftests load this file by path under one unique module name (:func:`load`). The test
models live here rather than in a conftest: SQLAlchemy resolves string annotations in the
module named by the class's ``__module__``, and every conftest is named ``conftest``.
"""

from __future__ import annotations

import os
import secrets
import typing as t
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import URL
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from erlen.ext.sqlalchemy import SQLAlchemy
from erlen.pytest_tiers import require_service

HOST = "127.0.0.1"
PORT = 5432


def _user() -> str:
    return os.environ.get("PGUSER") or "postgres"


def _connection(database: str = "postgres") -> psycopg.Connection[t.Any]:
    return psycopg.connect(
        host=HOST, port=PORT, user=_user(), dbname=database, autocommit=True, connect_timeout=5
    )


def require_postgres() -> None:
    """Skip (or, in CI, fail) the calling test when Postgres can't be reached."""
    problem = None
    try:
        _connection().close()
    except psycopg.Error as e:
        problem = (
            f"No Postgres at {HOST}:{PORT} as user {_user()!r}"
            f" ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})"
        )
    require_service("postgres", problem, remedy="Start one (trust auth) or set PGUSER.")


def url(database: str, **query: str) -> str:
    """A SQLAlchemy URL for a database on the test server (psycopg 3)."""
    return URL.create(
        "postgresql+psycopg", username=_user(), host=HOST, port=PORT, database=database, query=query
    ).render_as_string(hide_password=False)


@contextmanager
def throwaway_database() -> t.Iterator[str]:
    """Create a database with a unique name; drop it (closing its connections) afterwards."""
    require_postgres()
    name = f"erlen_test_{os.getpid()}_{secrets.token_hex(4)}"
    with _connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with _connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def throwaway_schema(database: str) -> t.Iterator[str]:
    """Create a schema in ``database``; yield a URL whose connections use only it.

    The URL sets ``search_path``, so tables, Alembic's version table and autogenerate's
    comparison all stay inside the schema, and a subprocess given the URL does the same.
    """
    schema = f"t_{secrets.token_hex(6)}"
    with _connection(database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield url(database, options=f"-csearch_path={schema}")
    finally:
        with _connection(database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def terminate_backend(pid: int) -> None:
    """End a server process from another connection, as a restart or an admin would."""
    with _connection() as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


# -- models ----------------------------------------------------------------------------------


class BlogModels(t.NamedTuple):
    """The model classes of one ``db``, for the sqlalchemy tests."""

    Author: type[t.Any]
    Post: type[t.Any]


def define_blog_models(db: SQLAlchemy) -> BlogModels:
    """Authors with posts."""

    class Author(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(80), unique=True)
        posts: Mapped[list[Post]] = relationship(back_populates="author")

    class Post(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(sa.String(200))
        author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id"))
        author: Mapped[Author] = relationship(back_populates="posts")

    return BlogModels(Author, Post)


def define_user_models(db: SQLAlchemy, version: int) -> None:
    """For the migrate tests. Version 1: users. Version 2 adds ``user.email`` and ``post``."""

    class User(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50))
        if version >= 2:
            email: Mapped[str | None] = mapped_column(sa.String(100))

    if version >= 2:

        class Post(db.Model):  # type: ignore[name-defined, misc]
            id: Mapped[int] = mapped_column(primary_key=True)
            user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
