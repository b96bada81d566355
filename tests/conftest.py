"""Fixtures for the starter's fast tier (tests/web, worker, realtime): SQLite in a temp
folder, in-memory brokers.

``app`` → ``client`` → ``worker`` build on each other; every test gets its own database,
pub/sub exchange and job queue, so nothing leaks between tests.
"""

from __future__ import annotations

import typing as t
import uuid
from pathlib import Path

import pytest

from erlen import Erlen
from erlen.ext.migrate import upgrade
from erlen.testing import FlaskClient


def _make_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """An environment for ``create_app`` as the services would see it, in embedded mode."""
    env = {
        "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "REDIS_URL": f"memory://{uuid.uuid4().hex}",
        "BROKER_URL": "memory://",
        "KEY_PREFIX": "test",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "ALLOWED_ORIGINS": "http://localhost",
        "LOG_LEVEL": "warning",
    }
    env.update(overrides)
    return env


@pytest.fixture(name="make_env")
def make_env_fixture() -> t.Callable[..., dict[str, str]]:
    """Build an environment for ``create_app``: ``make_env(tmp_path, NAME=value, ...)``."""
    return _make_env


@pytest.fixture
def app(tmp_path: Path) -> t.Iterator[Erlen]:
    from web import create_app

    import worker.jobs  # noqa: F401  (registers the jobs, as the services do)

    app = create_app({"TESTING": True}, env=_make_env(tmp_path))
    upgrade(app)
    yield app
    from web.extensions import jobs
    from web.extensions import publisher

    jobs.state(app).close()
    publisher.get_broker(app).close()


@pytest.fixture
def client(app: Erlen) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def worker(app: Erlen) -> t.Iterator[t.Any]:
    """An in-process job worker (embedded mode); ``worker.drain()`` waits for the queue."""
    from web.extensions import jobs

    handle = jobs.run_worker_thread(app=app, worker_threads=1)

    class Drain:
        def drain(self) -> None:
            jobs.join(app=app, timeout=10)

    yield Drain()
    handle.stop()
