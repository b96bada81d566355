"""Fixtures shared by erlen's tests, and guards that keep each test from leaking state.

The fixtures build on each other: ``app`` (a fresh app per test, so the setup is visible in
the test) → ``client`` → ``runner``. Two autouse guards fail a test that leaves an
application or request context pushed, or that changes ``os.environ`` without undoing it;
each also repairs the damage so that one leaky test doesn't break the ones after it.

Tests that need a service are marked from the fixtures they use (``SERVICE_FIXTURES``, via
``erlen.pytest_tiers``, loaded in pyproject.toml), so ``make test-fast`` can leave them out.
"""

from __future__ import annotations

import os
import typing as t

import pytest

import erlen
from erlen.globals import _cv_app
from erlen.globals import _cv_request
from erlen.pytest_tiers import mark_services
from erlen.testing import FlaskClient
from erlen.testing import FlaskCliRunner

# For the tests of erlen.pytest_tiers, which run pytest inside a test.
pytest_plugins = ["pytester"]

TESTS_ROOT = os.path.dirname(os.path.abspath(__file__))

# The fixtures that bring a real service, and the variants of parametrized ones that do
# (``name[param]``). The parametrized login fixtures live in their test files and fetch
# ``redis_target`` at run time, which the fixture closure doesn't show.
SERVICE_FIXTURES = {
    "postgres_database": "postgres",  # ext/conftest.py, and what builds on it
    "postgres_url": "postgres",
    "database_url[postgresql]": "postgres",
    "redis_url": "redis",  # realtime/conftest.py, ext/jobs/conftest.py
    "private_redis": "redis",  # ext/outbox/conftest.py: a redis-server of its own
    "broker_url[redis]": "redis",  # realtime/conftest.py
    "redis_target": "redis",  # ext/login/conftest.py
    "throttle_backend[redis]": "redis",  # ext/login/test_login_backends.py
    "revocations[redis]": "redis",  # ext/login/test_login_backends.py
    "backend[redis]": "redis",  # ext/login/test_login_throttle.py
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_services(items, SERVICE_FIXTURES)


@pytest.fixture
def app() -> erlen.Erlen:
    """A fresh app in testing mode, with a secret key so sessions work."""
    app = erlen.Erlen("erlen_test_app", root_path=TESTS_ROOT)
    app.config.update(TESTING=True, SECRET_KEY="test secret key")
    return app


@pytest.fixture
def client(app: erlen.Erlen) -> FlaskClient:
    """A test client for ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app: erlen.Erlen) -> FlaskCliRunner:
    """A CLI runner for ``app``'s commands."""
    return app.test_cli_runner()


def _pop_leaked_contexts() -> list[str]:
    """Pop every context a test left pushed; return a description of each."""
    leaked: list[str] = []
    # Bounded, so a context whose pop() misbehaves can't loop forever.
    for _ in range(100):
        ctx: t.Any = _cv_request.get(None)
        if ctx is None:
            ctx = _cv_app.get(None)
        if ctx is None:
            break
        leaked.append(repr(ctx))
        try:
            ctx.pop()
        except Exception:
            # A pop that fails (e.g. a teardown raising) must not hide the leak itself.
            pass
    return leaked


@pytest.fixture(autouse=True)
def _no_leaked_contexts() -> t.Iterator[None]:
    """Fail a test that leaves an app or request context pushed."""
    yield
    leaked = _pop_leaked_contexts()
    if leaked:
        pytest.fail(f"The test left contexts pushed: {', '.join(leaked)}", pytrace=False)


def _environ_snapshot() -> dict[str, str]:
    # pytest itself keeps PYTEST_CURRENT_TEST up to date while a test runs.
    return {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def _environ_unchanged() -> t.Iterator[None]:
    """Fail a test that changes ``os.environ`` and doesn't restore it."""
    before = _environ_snapshot()
    yield
    after = _environ_snapshot()
    if after != before:
        changed = sorted(
            key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
        )
        for key in after.keys() - before.keys():
            del os.environ[key]
        os.environ.update(before)
        pytest.fail(f"The test changed os.environ: {', '.join(changed)}", pytrace=False)
