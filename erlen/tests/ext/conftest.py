"""Fixtures shared by the extension tests: a real Postgres next to SQLite.

``postgres_database`` (one throwaway database per session) → ``database_url`` (per test: a
SQLite file, or a Postgres schema of its own; tests that use it run on both) and
``postgres_url`` (Postgres only). The helpers are in ``sqlalchemy/support.py``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import typing as t
from pathlib import Path

import pytest

from erlen.pytest_tiers import require_service


def _load_support() -> t.Any:
    # By path, under one name the sqlalchemy and migrate tests share: test directories
    # aren't packages.
    name = "erlen_tests_sqlalchemy_support"
    if name not in sys.modules:
        path = Path(__file__).parent / "sqlalchemy" / "support.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


support = _load_support()


def _load_private_redis() -> t.Any:
    name = "erlen_tests_private_redis"
    if name not in sys.modules:
        path = Path(__file__).with_name("private_redis.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


private_redis_module = _load_private_redis()


@pytest.fixture
def private_redis(tmp_path: Path) -> t.Iterator[t.Any]:
    """A running Redis of the test's own (``.url``, ``.kill()``, ``.start()``); skips (fails
    in CI) without ``redis-server``."""
    problem = None if shutil.which("redis-server") else "redis-server is not installed"
    require_service("redis", problem, remedy="Install redis-server to run this test.")
    server = private_redis_module.PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def postgres_database() -> t.Iterator[str]:
    """The name of a database created for this test session (dropped at the end)."""
    with support.throwaway_database() as name:
        yield name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[str]:
    """A database of the test's own: a SQLite file, or a fresh schema in Postgres."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    database = request.getfixturevalue("postgres_database")
    with support.throwaway_schema(database) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_database: str) -> t.Iterator[str]:
    """A fresh Postgres schema, for tests about Postgres only."""
    with support.throwaway_schema(postgres_database) as url:
        yield url
