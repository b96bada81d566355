"""Fixtures for the outbox tests: apps with a database, jobs and a publisher. The
``private_redis`` fixture (a Redis the tests may kill) is in ``tests/ext/conftest.py``."""

from __future__ import annotations

import typing as t

import pytest
from outbox_support import build_app
from outbox_support import OutboxApp


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
