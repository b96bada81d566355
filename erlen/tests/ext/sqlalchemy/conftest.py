"""Fixtures for the SQLAlchemy extension, on SQLite and on a real Postgres.

``postgres_database`` (one throwaway database per session) → ``database_url`` (per test: a
SQLite file, or a Postgres schema of its own; tests that use it run on both) → ``db`` (a
fresh extension with the models from support.py) → ``db_app`` (the ``app`` fixture with ``db``
initialised and the tables created; engines disposed afterwards).
"""

from __future__ import annotations

import sys
import typing as t

import pytest

import erlen
from erlen.ext.sqlalchemy import SQLAlchemy

support = sys.modules["erlen_tests_sqlalchemy_support"]  # loaded by ../conftest.py


@pytest.fixture
def db() -> SQLAlchemy:
    """A fresh extension (its own metadata), with ``db.models``: Author and Post."""
    db = SQLAlchemy()
    db.models = support.define_blog_models(db)  # type: ignore[attr-defined]
    return db


def dispose(db: SQLAlchemy, app: erlen.Erlen) -> None:
    """Close the app's pooled connections (an open one would warn when collected)."""
    for engine in db.engines_for(app).values():
        engine.dispose()


@pytest.fixture
def disposer() -> t.Iterator[t.Callable[[SQLAlchemy, erlen.Erlen], None]]:
    """Register ``(db, app)`` pairs whose engines are disposed after the test."""
    pairs: list[tuple[SQLAlchemy, erlen.Erlen]] = []
    yield lambda db, app: pairs.append((db, app))
    for db, app in pairs:
        dispose(db, app)


@pytest.fixture
def db_app(app: erlen.Erlen, db: SQLAlchemy, database_url: str) -> t.Iterator[erlen.Erlen]:
    """``app`` using ``database_url``, with the tables created."""
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    db.init_app(app)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
    dispose(db, app)
