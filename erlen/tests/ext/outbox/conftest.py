"""Fixtures for the outbox tests: apps with a database, jobs and a publisher, and a
private ``redis-server`` the tests may kill and restart (never the machine's Redis)."""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

import pytest
from outbox_support import build_app
from outbox_support import OutboxApp
from outbox_support import PrivateRedis

from erlen.pytest_tiers import require_service


@pytest.fixture
def private_redis(tmp_path: Path) -> t.Iterator[PrivateRedis]:
    """A running private Redis; the test may ``kill()`` and ``start()`` it again."""
    problem = None if shutil.which("redis-server") else "redis-server is not installed"
    require_service("redis", problem, remedy="Install redis-server to run this test.")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def make_app() -> t.Iterator[t.Callable[..., OutboxApp]]:
    """Build test apps (``make_app(database_url, **config)``); closed afterwards."""
    built: list[OutboxApp] = []

    def factory(database_url: str, **config: t.Any) -> OutboxApp:
        result = build_app(database_url, **config)
        built.append(result)
        return result

    yield factory
    for result in built:
        state = result.app.extensions["outbox"]
        if state.relay is not None:
            state.relay.stop()
        result.app.extensions["jobs"].close()
        result.publisher.get_broker(result.app).close()
        for engine in result.db.engines_for(result.app).values():
            engine.dispose()
