"""Fixtures for the jobs tests: a Redis guard and a namespace unique to each test.

Tests that need Redis use ``ERLEN_TEST_JOBS_REDIS_URL`` (default ``redis://127.0.0.1:6379/1``,
a database of its own, as the job broker should have). Without Redis they are skipped with
a loud reason, except in CI, where a missing Redis fails (``erlen.pytest_tiers``).
"""

from __future__ import annotations

import os
import typing as t
import uuid

import pytest
import redis

from erlen.pytest_tiers import require_service

REDIS_URL = os.environ.get("ERLEN_TEST_JOBS_REDIS_URL", "redis://127.0.0.1:6379/1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs real worker processes for several seconds (still under 30 s)"
    )


@pytest.fixture
def redis_url() -> str:
    """The test Redis URL; skips (or fails in CI) without Redis."""
    problem = None
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as e:
        problem = f"Redis is not reachable at {REDIS_URL} ({type(e).__name__}: {e})"
    require_service("redis", problem, remedy="Start redis-server to run this test.")
    return REDIS_URL


@pytest.fixture
def namespace(redis_url: str) -> t.Iterator[str]:
    """A job namespace unique to this test; its keys are deleted afterwards."""
    value = f"erlen-test-{uuid.uuid4().hex[:12]}-jobs"
    yield value
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{value}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
