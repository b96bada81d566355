"""Security behaviour of logins: revocation on logout, logging out everywhere, rotation.

Each test copies cookies the way a thief would (out of one client's jar into another's)
and checks what the copy is worth afterwards. Each also checks the copy worked before,
so that the test would fail if the copy were simply broken.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.test import TestResponse

import erlen
from erlen.ext.login import get_login_manager
from erlen.ext.login import MemoryRevocationStore
from erlen.ext.login import revoke_sessions

if t.TYPE_CHECKING:
    from erlen.testing import FlaskClient


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


def copy_cookies(app: erlen.Erlen, source: FlaskClient, *names: str) -> FlaskClient:
    """A new client holding copies of ``source``'s cookies ``names``."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        thief.set_cookie(name, cookie.value)
    return thief


def test_session_cookie_copied_before_logout_is_refused_after_it(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client)
    thief = copy_cookies(login_app, client, "session")
    assert thief.get("/whoami").text == "1"

    client.post("/logout")

    assert thief.get("/whoami").text == "anonymous"
    response = thief.get("/api/me")
    assert response.status_code == 401
    assert body_of(response)["detail"] == "You must log in to access this resource."


def test_replayed_session_cookie_is_refused_by_html_pages_too(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client)
    thief = copy_cookies(login_app, client, "session")
    client.post("/logout")

    response = thief.get("/private")

    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_remember_cookie_copied_before_logout_is_refused_after_it(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client, remember=True)
    thief = copy_cookies(login_app, client, "remember_token")
    assert thief.get("/whoami").text == "1"

    client.post("/logout")

    assert thief.get("/whoami").text == "anonymous"
    assert thief.get("/api/me").status_code == 401


def test_session_restored_from_remember_cookie_ends_with_logout(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client, remember=True)
    # The same login, restored on a second device from the remember cookie alone.
    restored = copy_cookies(login_app, client, "remember_token")
    assert restored.get("/whoami").text == "1"
    restored_session = copy_cookies(login_app, restored, "session")

    client.post("/logout")

    assert restored_session.get("/whoami").text == "anonymous"


def test_logout_deletes_the_remember_cookie_in_the_browser(
    client: FlaskClient, login: t.Any
) -> None:
    login(client, remember=True)
    assert client.get_cookie("remember_token") is not None

    client.post("/logout")

    assert client.get_cookie("remember_token") is None
    assert client.get("/whoami").text == "anonymous"


def test_plain_logout_leaves_other_devices_logged_in(login_app: erlen.Erlen, login: t.Any) -> None:
    laptop, phone = login_app.test_client(), login_app.test_client()
    login(laptop)
    login(phone, remember=True)

    laptop.post("/logout")

    assert phone.get("/whoami").text == "1"
    assert copy_cookies(login_app, phone, "remember_token").get("/whoami").text == "1"


def test_logout_everywhere_ends_every_session_and_remember_cookie(
    login_app: erlen.Erlen, login: t.Any
) -> None:
    laptop, phone = login_app.test_client(), login_app.test_client()
    login(laptop)
    login(phone, remember=True)
    phone_remember = copy_cookies(login_app, phone, "remember_token")
    assert phone.get("/whoami").text == "1"

    laptop.post("/logout", data={"everywhere": "1"})

    assert laptop.get("/whoami").text == "anonymous"
    assert phone.get("/whoami").text == "anonymous"
    assert phone_remember.get("/whoami").text == "anonymous"
    assert phone.get("/api/me").status_code == 401


def test_logging_in_again_after_logout_everywhere_works(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client)
    client.post("/logout", data={"everywhere": "1"})

    login(client, remember=True)

    assert client.get("/whoami").text == "1"
    assert copy_cookies(login_app, client, "remember_token").get("/whoami").text == "1"


def test_logout_everywhere_without_an_epoch_bumper_is_an_error(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    get_login_manager(login_app)._epoch_bumper = None
    login(client)

    with pytest.raises(RuntimeError, match="epoch bumper"):
        client.post("/logout", data={"everywhere": "1"})


def test_bumping_the_epoch_outside_a_request_ends_the_users_sessions(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    login(client, remember=True)
    remember_only = copy_cookies(login_app, client, "remember_token")

    # An admin action, or a password change handled elsewhere.
    with login_app.app_context():
        revoke_sessions(users["1"])

    assert client.get("/whoami").text == "anonymous"
    assert remember_only.get("/whoami").text == "anonymous"


def test_other_users_sessions_survive_one_users_logout_everywhere(
    login_app: erlen.Erlen, login: t.Any
) -> None:
    ada, grace = login_app.test_client(), login_app.test_client()
    login(ada)
    login(grace, email="grace@example.com")

    ada.post("/logout", data={"everywhere": "1"})

    assert grace.get("/whoami").text == "2"


def test_login_starts_a_new_session_without_pre_login_keys(
    client: FlaskClient, login: t.Any
) -> None:
    client.post("/visit", data={"planted": "by attacker"})
    before = client.get_cookie("session")
    assert before is not None

    login(client)

    after = client.get_cookie("session")
    assert after is not None and after.value != before.value
    session = body_of(client.get("/session"))
    assert "planted" not in session
    assert session["_user_id"] == "1"


def test_each_login_gets_a_new_session_id(client: FlaskClient, login: t.Any) -> None:
    login(client)
    first = body_of(client.get("/session"))["_sid"]
    client.post("/logout")

    login(client)

    second = body_of(client.get("/session"))["_sid"]
    assert first and second and first != second


def test_fixated_pre_login_cookie_stays_anonymous_after_the_victim_logs_in(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    # The attacker gets a session, plants its cookie in the victim's browser, and keeps a
    # copy; the victim then logs in with it.
    attacker = login_app.test_client()
    attacker.post("/visit", data={"lang": "en"})
    victim = copy_cookies(login_app, attacker, "session")

    login(victim)

    assert victim.get("/whoami").text == "1"
    assert attacker.get("/whoami").text == "anonymous"


def test_logging_in_again_revokes_the_previous_login(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    login(client)
    earlier = copy_cookies(login_app, client, "session")

    login(client, email="grace@example.com")

    assert client.get("/whoami").text == "2"
    assert earlier.get("/whoami").text == "anonymous"


def test_keys_the_manager_keeps_survive_login(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any
) -> None:
    get_login_manager(login_app).session_keys_kept = ("cart",)
    client.post("/visit", data={"cart": "3 apples", "planted": "x"})

    login(client)

    session = body_of(client.get("/session"))
    assert session["cart"] == "3 apples"
    assert "planted" not in session


def test_a_session_from_an_older_epoch_is_refused(
    client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    login(client)
    users["1"].session_epoch = 7

    assert client.get("/whoami").text == "anonymous"


def test_revocation_store_can_be_given_explicitly(
    app: erlen.Erlen, users: dict[str, t.Any]
) -> None:
    from erlen.ext.login import login_user
    from erlen.ext.login import LoginManager
    from erlen.ext.login import logout_user

    store = MemoryRevocationStore()
    manager = LoginManager(app, revocations=store)
    manager.user_loader(users.get)

    @app.post("/in")
    def log_in() -> str:
        login_user(users["1"])
        return erlen.session["_sid"]  # type: ignore[no-any-return]

    @app.post("/out")
    def log_out() -> str:
        logout_user()
        return ""

    client = app.test_client()
    session_id = client.post("/in").text
    assert not store.is_revoked(session_id)

    client.post("/out")

    assert store.is_revoked(session_id)


def read_session_cookie(app: erlen.Erlen, client: FlaskClient) -> dict[str, t.Any]:
    """Decode the client's session cookie as another service sharing SECRET_KEY would."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return t.cast("dict[str, t.Any]", serializer.loads(cookie.value))


def test_other_services_reading_the_cookie_see_logouts(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    from erlen.ext.login import user_from_session

    login(client)
    data = read_session_cookie(login_app, client)
    store = get_login_manager(login_app).revocation_store(login_app)
    assert user_from_session(data, users.get, store) is users["1"]

    client.post("/logout")

    assert user_from_session(data, users.get, store) is None


def test_other_services_reading_the_cookie_see_epoch_bumps(
    login_app: erlen.Erlen, client: FlaskClient, login: t.Any, users: dict[str, t.Any]
) -> None:
    from erlen.ext.login import user_from_session

    login(client)
    data = read_session_cookie(login_app, client)
    store = get_login_manager(login_app).revocation_store(login_app)

    users["1"].session_epoch += 1

    assert user_from_session(data, users.get, store) is None
    assert user_from_session({}, users.get, store) is None


def test_logouts_are_shared_through_redis_between_processes(
    redis_target: tuple[t.Any, str], users: dict[str, t.Any], login: t.Any
) -> None:
    """Two app instances (two web processes) configured with the same REDIS_URL."""
    _, prefix = redis_target

    def make_process() -> erlen.Erlen:
        from erlen.ext.login import login_user
        from erlen.ext.login import LoginManager
        from erlen.ext.login import logout_user

        app = erlen.Erlen("web")
        app.config.update(
            SECRET_KEY="shared", REDIS_URL="redis://127.0.0.1:6379/0", KEY_PREFIX=prefix
        )
        LoginManager(app).user_loader(users.get)

        @app.post("/login")
        def log_in() -> str:
            login_user(users["1"])
            return ""

        @app.post("/logout")
        def log_out() -> str:
            logout_user()
            return ""

        @app.get("/whoami")
        def whoami() -> str:
            from erlen.ext.login import current_user

            return current_user.get_id() or "anonymous"

        return app

    first, second = make_process(), make_process()
    browser = first.test_client()
    browser.post("/login")
    copy = copy_cookies(second, browser, "session")
    assert copy.get("/whoami").text == "1"

    browser.post("/logout")

    assert copy.get("/whoami").text == "anonymous"
    for app in (first, second):
        for client in app.extensions["login.redis"].values():
            client.close()
