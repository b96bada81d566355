"""Login throttling: the 11th bad password in a minute is answered 429 with Retry-After."""

from __future__ import annotations

import typing as t

import pytest

import erlen
from erlen.ext.login import login_user
from erlen.ext.login import LoginThrottle
from erlen.ext.login import MemoryThrottleBackend
from erlen.ext.login import RedisThrottleBackend
from erlen.ext.login import ThrottleBackend
from erlen.ext.login import TooManyAttempts
from erlen.ext.login import verify_and_update

if t.TYPE_CHECKING:
    import redis

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> ThrottleBackend:
    if request.param == "memory":
        return MemoryThrottleBackend()
    client, prefix = t.cast("tuple[redis.Redis, str]", request.getfixturevalue("redis_target"))
    return RedisThrottleBackend(client, prefix)


@pytest.fixture
def throttle(backend: ThrottleBackend) -> LoginThrottle:
    return LoginThrottle(limit=10, window=60, backend=backend)


@pytest.fixture
def throttled_app(
    login_app: erlen.Erlen, users: dict[str, t.Any], throttle: LoginThrottle
) -> erlen.Erlen:
    """An app whose /signin is throttled the way the module docstring shows."""

    @login_app.post("/signin")
    def signin() -> t.Any:
        email = erlen.request.form["email"]
        throttle.attempt(email, erlen.request.remote_addr)
        user = next((u for u in users.values() if u.email == email), None)
        if not verify_and_update(user, erlen.request.form["password"], lambda u, h: None):
            return "wrong email or password", 401
        throttle.succeeded(email, erlen.request.remote_addr)
        login_user(user)
        return "welcome"

    return login_app


def sign_in(client: t.Any, password: str, email: str = "ada@example.com", **kw: t.Any) -> t.Any:
    return client.post("/signin", data={"email": email, "password": password}, **kw)


def test_eleventh_bad_password_in_a_minute_gets_429_with_retry_after(
    throttled_app: erlen.Erlen,
) -> None:
    client = throttled_app.test_client()
    statuses = [sign_in(client, "wrong").status_code for _ in range(10)]

    response = sign_in(client, "wrong")

    assert statuses == [401] * 10
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Too many login attempts" in response.text


def test_while_throttled_even_the_right_password_gets_429(throttled_app: erlen.Erlen) -> None:
    client = throttled_app.test_client()
    for _ in range(10):
        sign_in(client, "wrong")

    assert sign_in(client, PASSWORD).status_code == 429
    assert client.get("/whoami").text == "anonymous"


def test_api_clients_get_429_as_a_problem(throttled_app: erlen.Erlen) -> None:
    client = throttled_app.test_client()
    for _ in range(10):
        sign_in(client, "wrong")

    response = sign_in(client, "wrong", headers={"Accept": "application/json"})

    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert (body["status"], body["title"]) == (429, "Too Many Requests")
    assert body["retry_after"] == int(response.headers["Retry-After"])
    assert body["detail"].startswith("Too many login attempts.")


def test_failures_from_one_address_never_lock_out_another(throttled_app: erlen.Erlen) -> None:
    client = throttled_app.test_client()
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(10):  # guessing Ada's password...
        sign_in(client, "wrong", environ_base=attacker)
    for i in range(10):  # ...and other accounts'
        sign_in(client, "wrong", email=f"guess{i}@example.com", environ_base=attacker)

    ada = sign_in(client, PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    grace = sign_in(
        client, PASSWORD, email="grace@example.com", environ_base={"REMOTE_ADDR": "198.51.100.8"}
    )
    attacker_again = sign_in(client, PASSWORD, environ_base=attacker)

    assert (ada.status_code, grace.status_code) == (200, 200)
    assert attacker_again.status_code == 429


def test_one_account_guessed_from_many_addresses_hits_its_ceiling(
    login_app: erlen.Erlen, users: dict[str, t.Any], backend: ThrottleBackend
) -> None:
    # A botnet: every address stays under its own limits, the account's total doesn't.
    throttle = LoginThrottle(limit=10, account_limit=30, backend=backend)
    for i in range(30):
        throttle.attempt("ada@example.com", f"10.1.{i}.1")

    with pytest.raises(TooManyAttempts):
        throttle.attempt("ada@example.com", "10.2.0.1")
    throttle.attempt("grace@example.com", "10.2.0.1")  # other accounts are untouched


def test_the_account_ceiling_defaults_to_ten_times_the_limit() -> None:
    assert LoginThrottle(limit=7).account_limit == 70


def test_the_limit_is_per_address_across_accounts(throttled_app: erlen.Erlen) -> None:
    client = throttled_app.test_client()
    for i in range(10):
        sign_in(client, "wrong", email=f"guess{i}@example.com")

    assert sign_in(client, PASSWORD).status_code == 429


def test_a_success_clears_the_accounts_failures(throttled_app: erlen.Erlen) -> None:
    client = throttled_app.test_client()
    for _ in range(9):
        sign_in(client, "wrong", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert sign_in(client, PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.1"}).text == "welcome"

    statuses = [
        sign_in(client, "wrong", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code
        for _ in range(10)
    ]

    assert statuses == [401] * 10


def test_own_successful_logins_do_not_wipe_an_addresses_failures(
    throttled_app: erlen.Erlen,
) -> None:
    client = throttled_app.test_client()
    for i in range(5):
        sign_in(client, "wrong", email=f"victim{i}@example.com")
    for _ in range(3):
        assert sign_in(client, PASSWORD).text == "welcome"
    for i in range(5, 10):
        sign_in(client, "wrong", email=f"victim{i}@example.com")

    assert sign_in(client, "wrong", email="victim10@example.com").status_code == 429


def test_account_names_are_compared_case_insensitively(throttle: LoginThrottle) -> None:
    for _ in range(10):
        throttle.attempt("Ada@Example.com ")

    with pytest.raises(TooManyAttempts):
        throttle.attempt("ada@example.com")


def test_ipv6_neighbours_in_one_64_share_a_limit(throttle: LoginThrottle) -> None:
    for i in range(10):
        throttle.attempt(None, f"2001:db8::{i + 1:x}")

    with pytest.raises(TooManyAttempts):
        throttle.attempt(None, "2001:db8::ffff")
    throttle.attempt(None, "2001:db8:0:1::1")


def test_retry_after_and_reset(throttle: LoginThrottle) -> None:
    assert throttle.retry_after("ada", "10.0.0.1") == 0
    for _ in range(10):
        throttle.attempt("ada", "10.0.0.1")

    assert 1 <= throttle.retry_after("ada", "10.0.0.1") <= 60
    throttle.reset("ada", "10.0.0.1")
    assert throttle.retry_after("ada", "10.0.0.1") == 0
    throttle.attempt("ada", "10.0.0.1")


def test_window_end_lifts_the_block() -> None:
    now = [1000.0]
    throttle = LoginThrottle(limit=2, window=60, backend=MemoryThrottleBackend(lambda: now[0]))
    throttle.attempt("ada")
    throttle.attempt("ada")
    with pytest.raises(TooManyAttempts) as caught:
        throttle.attempt("ada")
    assert caught.value.retry_after == 60

    now[0] += 60

    throttle.attempt("ada")


def test_separate_ip_limit(backend: ThrottleBackend) -> None:
    throttle = LoginThrottle(limit=2, ip_limit=5, backend=backend)
    for i in range(5):
        throttle.attempt(f"user{i}", "10.0.0.1")

    with pytest.raises(TooManyAttempts):
        throttle.attempt("user-new", "10.0.0.1")


def test_backend_comes_from_the_apps_config(app: erlen.Erlen) -> None:
    throttle = LoginThrottle(app)
    with app.app_context():
        assert isinstance(throttle.backend, MemoryThrottleBackend)

    other = erlen.Erlen("other")
    other.config.update(REDIS_URL="redis://127.0.0.1:6379/0", KEY_PREFIX="shop")
    LoginThrottle().init_app(other)
    backend = other.extensions["login_throttle"]
    assert isinstance(backend, RedisThrottleBackend)
    assert backend.prefix == "shop"
    backend.client.close()


def test_using_an_unbound_throttle_outside_an_app_explains() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        LoginThrottle().attempt("ada")


def test_any_account_name_counts_a_lone_surrogate_included(throttle: LoginThrottle) -> None:
    # A JSON login body can name an account "\ud800"; its bucket works like any other.
    for _ in range(10):
        throttle.attempt("ada\ud800")

    with pytest.raises(TooManyAttempts):
        throttle.attempt("ada\ud800")
    throttle.attempt("ada")
