"""Fixtures for the starter's fast tier (tests/web, worker, realtime): SQLite in a temp
folder, in-memory brokers.

``app`` → ``client`` → ``worker`` build on each other; every test gets its own database,
pub/sub exchange and job queue, so nothing leaks between tests.

Tests of the other tiers are marked from the fixtures they use (``SERVICE_FIXTURES``, via
``erlen.pytest_tiers``, loaded in pyproject.toml), so ``make test-fast`` can leave them out;
a missing service skips them loudly, or fails them in CI.
"""

from __future__ import annotations

import os
import secrets
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

if t.TYPE_CHECKING:
    from stack import Stack

# The fixtures that bring real services or processes; their tests get the markers.
SERVICE_FIXTURES = {
    "stack": ("postgres", "redis", "nginx"),  # below
    "postgres_database": "postgres",  # below
    "db_app[postgres]": "postgres",  # below
    "rstack": ("postgres", "redis", "nginx"),  # reliability/conftest.py: its own redis-server
    "browser": "browser",  # e2e/conftest.py
    "dev_server": "processes",  # dev/test_make_dev.py: runs `make dev`
    "dev_server_on_all_addresses": "processes",  # the same, listening on every address
    "outage_services": ("postgres", "redis"),  # worker/test_outbox_redis_down.py
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_services(items, SERVICE_FIXTURES)


def _make_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """An environment for ``create_app`` as the services would see it, in embedded mode,
    as the Testing environment (web.environments)."""
    env = {
        "ERLEN_ENV": "testing",
        "SECRET_KEY": secrets.token_urlsafe(32),  # one production would accept
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

    app = create_app(env=_make_env(tmp_path))
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


def browser_client(app: Erlen) -> FlaskClient:
    """A browser-like client: it has loaded the board and sends its CSRF token, as the
    page's script does."""
    client = app.test_client()
    page = client.get("/")
    client.environ_base["HTTP_X_CSRFTOKEN"] = page_csrf_token(page.get_data(as_text=True))
    return client


#: The password of every account :func:`sign_in` makes.
PASSWORD = "correct horse battery"


def sign_in(app: Erlen, username: str, *, admin: bool = False) -> FlaskClient:
    """A browser-like client signed in as a new account ``username`` (an admin if asked):
    it logged in through the form and sends the CSRF token of its new session."""
    from web.extensions import db
    from web.services import accounts

    with app.app_context():
        user = accounts.register(session=db.session, username=username, password=PASSWORD)
        if admin:
            user.is_admin = True
            db.session.commit()
    client = browser_client(app)
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    # Logging in starts a new session, with a new CSRF token.
    page = client.get("/rooms/")
    client.environ_base["HTTP_X_CSRFTOKEN"] = page_csrf_token(page.get_data(as_text=True))
    return client


@pytest.fixture(name="sign_in")
def sign_in_fixture(app: Erlen) -> t.Callable[..., FlaskClient]:
    """``sign_in("ada", admin=False)``: a client signed in as a new account (:func:`sign_in`)."""
    return lambda username, **kwargs: sign_in(app, username, **kwargs)


@pytest.fixture
def client(app: Erlen) -> FlaskClient:
    """The ``app``'s browser-like client (:func:`browser_client`)."""
    return browser_client(app)


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


# -- the app on real Postgres ------------------------------------------------------------

# Where the fast tier's Postgres tests find a server: trust auth on loopback, as CI starts it.
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")


def postgres_admin(database: str = "postgres") -> t.Any:
    """An autocommit connection to a database of the server (``postgres`` by default)."""
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname=database,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="session")
def postgres_database() -> t.Iterator[str]:
    """A database of this test session's own on the real server, dropped at the end.

    For what only Postgres shows (it refuses NUL in text, and integers past a column's
    range); without a server the test is skipped loudly, or fails under CI.
    """
    import psycopg

    problem = None
    try:
        postgres_admin().close()
    except psycopg.Error as e:
        problem = f"No Postgres at {PG_HOST}:{PG_PORT} as {PG_USER!r} ({type(e).__name__})"
    require_service("postgres", problem, remedy="Start one (trust auth) or set PGUSER.")
    name = f"erlen_web_{uuid.uuid4().hex[:12]}"
    with postgres_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with postgres_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_app(tmp_path: Path, postgres_database: str) -> t.Iterator[Erlen]:
    """The app of the ``app`` fixture on a fresh schema of the Postgres database."""
    import web.jobs  # noqa: F401  (declares the jobs, as the services do)
    from web.app import create_app

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin(postgres_database) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = (
        f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{postgres_database}"
        f"?options=-csearch_path%3D{schema}"
    )
    app = create_app(env=_make_env(tmp_path, DATABASE_URL=url))
    upgrade(app)
    yield app
    from web.extensions import db
    from web.extensions import jobs
    from web.extensions import publisher

    jobs.state(app).close()
    publisher.get_broker(app).close()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def terminate_backend(postgres_database: str) -> t.Callable[[int], None]:
    """End a Postgres server process from another connection, as a restart would."""

    def terminate(pid: int) -> None:
        with postgres_admin() as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    return terminate


@pytest.fixture(params=["sqlite", "postgres"])
def db_app(request: pytest.FixtureRequest) -> Erlen:
    """The app on SQLite (``app``), and again on Postgres (``postgres_app``)."""
    name = "app" if request.param == "sqlite" else "postgres_app"
    return t.cast(Erlen, request.getfixturevalue(name))


@pytest.fixture
def db_client(db_app: Erlen) -> FlaskClient:
    """The ``db_app``'s browser-like client (:func:`browser_client`)."""
    return browser_client(db_app)


# -- the real stack (integration and e2e tiers) -------------------------------------------

# The runner (tests/integration/stack.py) and the compose reader (scripts/stackconf.py).
sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

_running_stack: Stack | None = None


@pytest.fixture(scope="session")
def stack() -> t.Iterator[Stack]:
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> t.Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test that used the stack gets each service's log tail in its report."""
    report = yield
    if (
        report.failed
        and _running_stack is not None
        and isinstance(item, pytest.Function)
        and "stack" in item.fixturenames
    ):
        report.sections.append(("stack service logs", _running_stack.logs()))
    return report
