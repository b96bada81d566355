"""Fixtures for the login extension: users, an app with login views, and Redis.

``app`` (from tests/conftest.py) → ``login_app`` (a LoginManager and the views a
site needs: login, logout, a protected page, an API endpoint) → ``client`` → ``login()``.
The Redis fixtures use the server at 127.0.0.1:6379 under a unique key prefix and delete
their keys afterwards. Without a server the Redis tests are skipped, with the reason in
the summary, except in CI where a missing server fails them (``erlen.pytest_tiers``).
"""

from __future__ import annotations

import socket
import typing as t
import uuid

import pytest

import erlen
from erlen.ext.login import current_user
from erlen.ext.login import fresh_login_required
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.ext.login import LoginManager
from erlen.ext.login import logout_user
from erlen.ext.login import safe_next_url
from erlen.ext.login import UserMixin
from erlen.ext.login import verify_and_update
from erlen.ext.login.passwords import get_password_hasher
from erlen.ext.login.passwords import make_password_hasher
from erlen.ext.login.passwords import set_password_hasher
from erlen.pytest_tiers import require_service

if t.TYPE_CHECKING:
    import redis

    from erlen.testing import FlaskClient

PASSWORD = "correct horse battery staple"
# Every log in verifies a password: at OWASP's cost (~40 ms a verify) the login flows spent
# seconds of the fast tier hashing. They are about sessions and throttling, not hashing
# cost, so their users' hashes and the hasher in use are argon2id at its minimum cost. The
# tests of hashing itself (test_login_passwords.py) don't use these fixtures: OWASP's there.
CHEAP_HASHER = make_password_hasher(time_cost=1, memory_cost=8, parallelism=1)
# Every test's users share these hashes.
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = CHEAP_HASHER.hash(password)
    return _HASHES[password]


class User(UserMixin):
    """A user as an app would model it: id, email, password hash, session epoch."""

    def __init__(self, id: str, email: str, password: str = PASSWORD, active: bool = True):
        self.id = id
        self.email = email
        self.password_hash = _hash(password)
        self.session_epoch = 0
        self.active = active

    @property
    def is_active(self) -> bool:
        return self.active


@pytest.fixture
def users() -> t.Iterator[dict[str, User]]:
    """The site's users, by id; new hashes are made at their (minimum) cost meanwhile."""
    previous = get_password_hasher()
    set_password_hasher(CHEAP_HASHER)
    try:
        yield {
            "1": User("1", "ada@example.com"),
            "2": User("2", "grace@example.com"),
            "3": User("3", "off@example.com", active=False),
        }
    finally:
        set_password_hasher(previous)


@pytest.fixture
def login_app(app: erlen.Erlen, users: dict[str, User]) -> erlen.Erlen:
    """``app`` with a LoginManager and the usual views."""
    manager = LoginManager(app)
    manager.login_view = "login"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @manager.epoch_bumper
    def bump(user: User) -> None:
        user.session_epoch += 1

    def by_email(email: str) -> User | None:
        return next((u for u in users.values() if u.email == email), None)

    @app.get("/login")
    def login() -> str:
        return "login page"

    @app.post("/login")
    def do_login() -> t.Any:
        form = erlen.request.form
        user = by_email(form.get("email", ""))
        if not verify_and_update(user, form.get("password", ""), lambda u, h: None):
            return "wrong email or password", 401
        if not login_user(user, remember=form.get("remember") == "1"):
            return "inactive", 403
        return erlen.redirect(safe_next_url(default="/whoami"))

    @app.post("/logout")
    def do_logout() -> str:
        logout_user(everywhere=erlen.request.form.get("everywhere") == "1")
        return "logged out"

    @app.get("/whoami")
    def whoami() -> str:
        return current_user.get_id() or "anonymous"

    @app.get("/private")
    @login_required
    def private() -> str:
        return f"private page of {current_user.get_id()}"

    @app.get("/api/me")
    @login_required
    def api_me() -> dict[str, t.Any]:
        return {"id": current_user.get_id()}

    @app.get("/settings")
    @fresh_login_required
    def settings() -> str:
        return "settings"

    @app.post("/visit")
    def visit() -> str:
        for key, value in erlen.request.form.items():
            erlen.session[key] = value
        return "noted"

    @app.get("/session")
    def show_session() -> dict[str, t.Any]:
        return dict(erlen.session)

    return app


@pytest.fixture
def client(login_app: erlen.Erlen) -> FlaskClient:
    """A test client (a browser) for ``login_app``."""
    return login_app.test_client()


LoginFn = t.Callable[..., t.Any]


@pytest.fixture
def login() -> LoginFn:
    """Log a client in through the login form; return the response."""

    def login(
        client: FlaskClient,
        email: str = "ada@example.com",
        password: str = PASSWORD,
        remember: bool = False,
        **kwargs: t.Any,
    ) -> t.Any:
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "1"
        return client.post("/login", data=data, **kwargs)

    return login


def cookie_value(client: FlaskClient, name: str) -> str | None:
    """The value of a cookie in the client's jar, or None."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture(scope="session")
def redis_unreachable_reason() -> str | None:
    """Why Redis can't be used (probed once per run), or None when it can."""
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError as e:
        return f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({e})"
    return None


@pytest.fixture
def redis_target(redis_unreachable_reason: str | None) -> t.Iterator[tuple[redis.Redis, str]]:
    """A Redis client and a unique key prefix; the prefix's keys are deleted afterwards."""
    require_service(
        "redis",
        redis_unreachable_reason,
        remedy="The Redis backend is untested: start redis-server to run these tests.",
    )
    # The login extra installs redis: a missing package is a failure, not a skip.
    import redis as redis_module

    client = redis_module.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=1)
    prefix = f"erlen-test-{uuid.uuid4().hex}"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
