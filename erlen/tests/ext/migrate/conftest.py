"""Fixtures for migrations, on SQLite and on a real Postgres.

``postgres_database`` (one throwaway database per session) → ``database_url`` (per test: a
SQLite file or a Postgres schema of its own) → ``make_app(version)`` (an app with version 1
or 2 of the models and ``Migrate`` on ``tmp_path/migrations``). ``make_pg_app`` is the same
on Postgres only.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

import erlen
from erlen.ext.migrate import Migrate
from erlen.ext.sqlalchemy import SQLAlchemy

support = sys.modules["erlen_tests_sqlalchemy_support"]  # loaded by ../conftest.py


MakeApp = t.Callable[..., erlen.Erlen]


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """Where the test apps keep their migrations (``migrations`` under their root path)."""
    return tmp_path / "migrations"


class AppFactory:
    """Builds apps with a models version and ``Migrate``; disposes their engines at the end."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.made: list[tuple[SQLAlchemy, erlen.Erlen]] = []

    def __call__(self, version: int = 1, **migrate_kwargs: t.Any) -> erlen.Erlen:
        db = SQLAlchemy()
        support.define_user_models(db, version)
        app = erlen.Erlen("migrate_test_app", root_path=str(self.root))
        app.config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=self.url)
        db.init_app(app)
        Migrate(app, db, **migrate_kwargs)
        self.made.append((db, app))
        return app

    def dispose(self) -> None:
        for db, app in self.made:
            for engine in db.engines_for(app).values():
                engine.dispose()


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> t.Iterator[MakeApp]:
    """Build an app on ``database_url`` (SQLite, then Postgres) with ``Migrate``."""
    factory = AppFactory(tmp_path, database_url)
    yield factory
    factory.dispose()


@pytest.fixture
def make_pg_app(tmp_path: Path, postgres_url: str) -> t.Iterator[MakeApp]:
    """Build an app on ``postgres_url`` with ``Migrate``, for tests about Postgres only."""
    factory = AppFactory(tmp_path, postgres_url)
    yield factory
    factory.dispose()


class Schema:
    """What the app's database holds, read directly, for assertions."""

    @staticmethod
    def tables(app: erlen.Erlen) -> set[str]:
        """The tables in the app's database."""
        with _engine(app).connect() as connection:
            return set(sa.inspect(connection).get_table_names())

    @staticmethod
    def columns(app: erlen.Erlen, table: str) -> set[str]:
        """The columns of a table in the app's database."""
        with _engine(app).connect() as connection:
            return {c["name"] for c in sa.inspect(connection).get_columns(table)}


def _engine(app: erlen.Erlen) -> sa.Engine:
    db: SQLAlchemy = app.extensions["sqlalchemy"]
    return db.engines_for(app)[None]


@pytest.fixture
def schema() -> type[Schema]:
    """``schema.tables(app)`` and ``schema.columns(app, table)``."""
    return Schema
