"""Fixtures for the starter's fast tier (tests/web, worker, realtime): SQLite in a temp
folder, in-memory brokers.

``app`` → ``client`` → ``worker`` build on each other; every test gets its own database,
pub/sub exchange and job queue, so nothing leaks between tests.

Tests of the other tiers are marked from the fixtures they use (``SERVICE_FIXTURES``, via
``erlen.pytest_tiers``, loaded in pyproject.toml), so ``make test-fast`` can leave them out;
a missing service skips them loudly, or fails them in CI.
"""

from __future__ import annotations

import sys
import typing as t
import uuid
from pathlib import Path

import pytest
from erlen import Erlen
from erlen.ext.migrate import upgrade
from erlen.pytest_tiers import mark_services
from erlen.pytest_tiers import require_service
from erlen.testing import FlaskClient

# The fixtures that bring real services or processes; their tests get the markers.
SERVICE_FIXTURES = {
    "stack": ("postgres", "redis", "nginx"),  # below
    "rstack": ("postgres", "redis", "nginx"),  # reliability/conftest.py: its own redis-server
    "browser": "browser",  # e2e/conftest.py
    "dev_server": "processes",  # dev/test_make_dev.py: runs `make dev`
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_services(items, SERVICE_FIXTURES)


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
    import web.jobs  # noqa: F401  (declares the jobs, as the services do)
    from web.app import create_app

    app = create_app({"TESTING": True}, env=_make_env(tmp_path))
    upgrade(app)
    yield app
    from web.extensions import jobs
    from web.extensions import publisher

    jobs.state(app).close()
    publisher.get_broker(app).close()


def page_csrf_token(html: str) -> str:
    """The CSRF token a page carries in its ``<meta name="csrf-token">``."""
    marker = '<meta name="csrf-token" content="'
    assert marker in html, "the page has no CSRF token"
    return html.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
def client(app: Erlen) -> FlaskClient:
    """A browser-like client: it has loaded the board and sends its CSRF token, as the
    page's script does."""
    client = app.test_client()
    page = client.get("/")
    client.environ_base["HTTP_X_CSRFTOKEN"] = page_csrf_token(page.get_data(as_text=True))
    return client


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


# -- the real stack (integration and e2e tiers) -------------------------------------------

# The runner (tests/integration/stack.py) and the compose reader (scripts/stackconf.py).
sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

_running_stack: t.Any = None


@pytest.fixture(scope="session")
def stack() -> t.Iterator[t.Any]:
    """nginx, web (granian), two realtime replicas and a worker, from docker-compose.yml.

    Needs Postgres and Redis on loopback and nginx. Missing any of them skips the tier
    with the reason, except in CI, where it fails: CI proves every tier.
    """
    global _running_stack
    from stack import missing_services
    from stack import Stack

    missing = missing_services()
    problem = "The stack needs " + ", ".join(missing) if missing else None
    require_service(SERVICE_FIXTURES["stack"], problem)
    with Stack(realtime_replicas=2) as running:
        _running_stack = running
        yield running
        _running_stack = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> t.Iterator[None]:
    """A failing test that used the stack gets each service's log tail in its report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running_stack is not None and "stack" in item.fixturenames:
        report.sections.append(("stack service logs", _running_stack.logs()))
