"""Fixtures for the realtime tests: brokers of both kinds, a Redis guard, an event-loop runner.

Tests that need Redis use the server at ``ERLEN_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) under a key prefix unique to the test. Without Redis they
are skipped with a loud reason, except in CI, where a missing Redis fails
(``erlen.pytest_tiers.require_service``).
"""

from __future__ import annotations

import asyncio
import os
import typing as t
import uuid

import pytest
import redis

from erlen.pytest_tiers import require_service
from erlen.realtime import broker_from_url
from erlen.realtime.broker import Broker

REDIS_URL = os.environ.get("ERLEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_redis_error: list[str] = []


def _redis_available() -> str | None:
    """``None`` if Redis answers, else why not (checked once per session)."""
    if not _redis_error:
        try:
            client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
            _redis_error.append("")
        except redis.RedisError as e:
            _redis_error.append(f"{type(e).__name__}: {e}")
    return _redis_error[0] or None


def require_redis() -> str:
    """Return the Redis URL, or skip (fail in CI) when Redis isn't reachable."""
    error = _redis_available()
    require_service(
        "redis",
        None if error is None else f"Redis is not reachable at {REDIS_URL} ({error})",
        remedy="Start redis-server to run this test.",
    )
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    """The test Redis URL; skips (or fails under CI) without Redis."""
    return require_redis()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> t.Iterator[str]:
    """A key prefix unique to this test; its Redis keys (if any) are deleted afterwards."""
    value = f"erlen-test-{uuid.uuid4().hex[:12]}"
    yield value
    # Only a test marked redis may have used it: the others mustn't touch Redis at all.
    if request.node.get_closest_marker("redis") and _redis_available() is None:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{value}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


BrokerFactory = t.Callable[..., Broker]


@pytest.fixture(params=["memory", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each contract test runs against both brokers."""
    if request.param == "redis":
        return require_redis()
    # A separate in-process exchange per test, like a separate Redis.
    return f"memory://{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_broker(broker_url: str, prefix: str) -> t.Iterator[BrokerFactory]:
    """Build brokers on the test's URL and prefix (each one stands for a process)."""
    created: list[Broker] = []

    def factory(**options: t.Any) -> Broker:
        broker = broker_from_url(broker_url, prefix=options.pop("prefix", prefix), **options)
        created.append(broker)
        return broker

    factory.created = created  # type: ignore[attr-defined]
    yield factory
    for broker in created:
        broker.close()


Runner = t.Callable[[t.Coroutine[t.Any, t.Any, t.Any]], t.Any]


@pytest.fixture
def run(make_broker: BrokerFactory) -> Runner:
    """Run a coroutine on a fresh event loop, closing the test's brokers on that loop."""

    def runner(coro: t.Coroutine[t.Any, t.Any, t.Any], timeout: float = 30) -> t.Any:
        async def main() -> t.Any:
            try:
                return await asyncio.wait_for(coro, timeout)
            finally:
                for broker in make_broker.created:  # type: ignore[attr-defined]
                    await broker.aclose()

        return asyncio.run(main())

    return runner
