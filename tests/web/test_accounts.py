"""Accounts on the board: sign up, log in, log out (here and everywhere), throttling."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from erlen import Erlen
from erlen.ext.migrate import upgrade
from erlen.testing import FlaskClient
from werkzeug.test import TestResponse

from web.app import create_app

PASSWORD = "correct horse battery"


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _form(client: FlaskClient, path: str, **data: str) -> t.Any:
    return client.post(path, data={"csrf_token": _csrf(client, path), **data})


@pytest.fixture
def alice(app: Erlen) -> FlaskClient:
    client = app.test_client()
    response = _form(client, "/register", username="Alice", password=PASSWORD)
    assert response.status_code == 302
    return client


def test_signing_up_logs_in_and_posts_go_out_under_the_username(alice: FlaskClient) -> None:
    page = alice.get("/").get_data(as_text=True)
    assert '<span class="who">alice</span>' in page and "Log out" in page
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    created = alice.post("/api/messages", json={"body": "hi"}, headers={"X-CSRFToken": token})
    assert body_of(created)["author"] == "alice"


@pytest.mark.parametrize(
    ("username", "password", "fragment"),
    [
        ("al", PASSWORD, "A username is 3 to 40"),
        ("bad name!", PASSWORD, "A username is 3 to 40"),
        ("bob", "short", "A password is 10 to 256"),
    ],
)
def test_bad_sign_ups_are_refused_with_a_reason(
    app: Erlen, username: str, password: str, fragment: str
) -> None:
    response = _form(app.test_client(), "/register", username=username, password=password)
    assert response.status_code == 422
    assert fragment in response.get_data(as_text=True)


def test_a_taken_username_is_refused(app: Erlen, alice: FlaskClient) -> None:
    response = _form(app.test_client(), "/register", username="ALICE", password=PASSWORD)
    assert response.status_code == 422
    assert "is taken" in response.get_data(as_text=True)


def test_logging_in_with_the_right_password_only(app: Erlen, alice: FlaskClient) -> None:
    client = app.test_client()
    wrong = _form(client, "/login", username="alice", password="not the password")
    assert wrong.status_code == 401
    right = _form(client, "/login", username="alice", password=PASSWORD)
    assert right.status_code == 302
    assert '<span class="who">alice</span>' in client.get("/").get_data(as_text=True)


def test_the_eleventh_bad_password_in_a_minute_is_429(app: Erlen, alice: FlaskClient) -> None:
    client = app.test_client()
    codes = [
        _form(client, "/login", username="alice", password=f"wrong {i}").status_code
        for i in range(11)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    response = _form(client, "/login", username="alice", password=PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_failed_logins_from_one_address_never_lock_out_another(
    make_env: t.Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    # Behind nginx (127.0.0.1, trusted): the address is the one nginx forwards.
    app = create_app({"TESTING": True}, env=make_env(tmp_path, TRUSTED_PROXIES="127.0.0.1"))
    upgrade(app)

    def via_nginx(client_address: str) -> FlaskClient:
        client = app.test_client()
        client.environ_base.update(
            REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_address}"
        )
        return client

    signed_up = _form(via_nginx("198.51.100.7"), "/register", username="ada", password=PASSWORD)
    assert signed_up.status_code == 302
    attacker = via_nginx("203.0.113.66")
    codes = [
        _form(attacker, "/login", username=name, password="guess").status_code
        for name in ["ada"] * 10 + [f"user{i}" for i in range(10)]
    ]
    ada = _form(via_nginx("198.51.100.7"), "/login", username="ada", password=PASSWORD)

    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    assert ada.status_code == 302


def test_a_copied_session_cookie_stops_working_after_logout(app: Erlen, alice: FlaskClient) -> None:
    cookie = alice.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert '<span class="who">alice</span>' in thief.get("/").get_data(as_text=True)

    page = alice.get("/").get_data(as_text=True)
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert alice.post("/logout", data={"csrf_token": token}).status_code == 302

    after = thief.get("/").get_data(as_text=True)
    assert '<span class="who">alice</span>' not in after and "Log in" in after
    token = after.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    posted = thief.post("/api/messages", json={"body": "as whom?"}, headers={"X-CSRFToken": token})
    assert body_of(posted)["author"].startswith("visitor-")


def test_logging_out_everywhere_ends_every_session(app: Erlen, alice: FlaskClient) -> None:
    laptop = app.test_client()
    assert _form(laptop, "/login", username="alice", password=PASSWORD).status_code == 302
    page = alice.get("/").get_data(as_text=True)
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    alice.post("/logout", data={"csrf_token": token, "everywhere": "1"})
    assert '<span class="who">alice</span>' not in laptop.get("/").get_data(as_text=True)


def test_login_needs_the_csrf_token(app: Erlen, alice: FlaskClient) -> None:
    response = app.test_client().post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
