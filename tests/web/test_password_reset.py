"""Password reset by email, through a real SMTP server (the stack's mail catcher, on
aiosmtpd) and the job worker, and the profile's password and email changes."""

from __future__ import annotations

import logging
import time
import typing as t

import pytest
from aiosmtpd.controller import Controller
from erlen import Erlen
from erlen.pytest_tiers import service_port
from erlen.testing import FlaskClient

from mailcatcher import SMTPHandler
from mailcatcher.inbox import CaughtMessage
from mailcatcher.inbox import Inbox
from web import mail

SignIn = t.Callable[..., FlaskClient]
PASSWORD = "correct horse battery"  # sign_in's
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def inbox(app: Erlen) -> t.Iterator[Inbox]:
    """A real SMTP server on a free port; the app sends its mail there."""
    received = Inbox()
    port = service_port()
    controller = Controller(SMTPHandler(received), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield received
    finally:
        controller.stop()


def _text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


def _ask_for_link(client: FlaskClient, email: str) -> t.Any:
    return client.post("/password/forgot", data={"email": email})


def _link(message: CaughtMessage) -> str:
    line = next(x for x in message.text.splitlines() if "/password/reset/" in x)
    return "/password/reset/" + line.split("/password/reset/", 1)[1].strip()


def _log_in(app: Erlen, username: str, password: str) -> int:
    """Log in with a fresh client; the status the form answered."""
    return _log_in_client(app.test_client(), username, password)


def _log_in_client(client: FlaskClient, username: str, password: str) -> int:
    page = _text(client.get("/login"))
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return int(response.status_code)


@pytest.fixture
def ada(sign_in: SignIn) -> FlaskClient:
    client = sign_in("ada")
    assert client.post("/account/email", data={"email": "ada@example.com"}).status_code == 302
    return client


def test_a_reset_link_arrives_by_mail_and_works_once(
    app: Erlen, ada: FlaskClient, client: FlaskClient, inbox: Inbox, worker: t.Any
) -> None:
    asked = _ask_for_link(client, "ADA@example.com ")
    assert asked.status_code == 302 and asked.headers["Location"] == "/login"
    worker.drain()
    (message,) = inbox.newest_first()
    assert message.recipients == ("ada@example.com",)
    assert message.subject == "Reset your erlen starter password"
    link = _link(message)

    form = client.get(link)
    assert form.status_code == 200 and "For <strong>ada</strong>" in _text(form)
    short = client.post(link, data={"password": "short"})
    assert short.status_code == 422 and "A password is 10 to 256" in _text(short)
    done = client.post(link, data={"password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"

    assert _log_in(app, "ada", PASSWORD) == 401
    assert _log_in(app, "ada", NEW_PASSWORD) == 302
    # The session from before the reset is over.
    assert ada.get("/account/").status_code == 302
    # Used once: dead.
    again = client.get(link)
    assert again.status_code == 400 and "invalid, used or expired" in _text(again)
    assert client.post(link, data={"password": "another new password"}).status_code == 400


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: FlaskClient, inbox: Inbox, worker: t.Any
) -> None:
    asked = _ask_for_link(client, "nobody@example.com")
    assert asked.status_code == 302
    page = _text(client.get("/login"))
    assert "If an account has that address" in page
    worker.drain()
    assert inbox.newest_first() == []


def test_an_expired_or_tampered_link_is_refused(
    app: Erlen, ada: FlaskClient, client: FlaskClient, inbox: Inbox, worker: t.Any
) -> None:
    app.config["PASSWORD_RESET_MAX_AGE"] = 1
    _ask_for_link(client, "ada@example.com")
    worker.drain()
    link = _link(inbox.newest_first()[0])
    tampered = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.get(tampered).status_code == 400
    assert client.get("/password/reset/garbage").status_code == 400
    time.sleep(2.1)  # itsdangerous stamps whole seconds
    expired = client.post(link, data={"password": NEW_PASSWORD})
    assert expired.status_code == 400
    assert _log_in(app, "ada", PASSWORD) == 302  # nothing changed


def test_asking_too_often_is_429(client: FlaskClient, inbox: Inbox) -> None:
    statuses = [_ask_for_link(client, "ada@example.com").status_code for _ in range(12)]
    assert statuses[:10] == [302] * 10
    assert statuses[-1] == 429


def test_a_nul_in_the_address_is_422(client: FlaskClient) -> None:
    response = _ask_for_link(client, "a\x00@example.com")
    assert response.status_code == 422 and "must not contain NUL" in _text(response)


def test_changing_the_password_signs_out_every_other_session(app: Erlen, ada: FlaskClient) -> None:
    other_session = app.test_client()
    assert _log_in_client(other_session, "ada", PASSWORD) == 302
    wrong = ada.post(
        "/account/password", data={"current_password": "nope", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422 and "That is not your current password." in _text(wrong)
    changed = ada.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    assert ada.get("/account/").status_code == 200  # this session goes on
    assert other_session.get("/account/").status_code == 302  # the other is over
    assert _log_in(app, "ada", NEW_PASSWORD) == 302


def test_the_profile_changes_the_email_and_explains_refusals(
    ada: FlaskClient, sign_in: SignIn
) -> None:
    page = _text(ada.get("/account/"))
    assert 'value="ada@example.com"' in page
    bob = sign_in("bob")
    taken = bob.post("/account/email", data={"email": "ada@example.com"})
    assert taken.status_code == 422 and "Another account uses that email address." in _text(taken)
    bad = bob.post("/account/email", data={"email": "nope"})
    assert bad.status_code == 422 and "is not an email address" in _text(bad)


def test_without_a_mail_server_the_mail_goes_to_the_log(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="web.mail")
    config = {**app.config, "MAIL_BACKEND": "console"}
    mail.send(to="x@example.com", subject="Hi", text="the link: /password/reset/abc", config=config)
    assert "the link: /password/reset/abc" in caplog.text and "To: x@example.com" in caplog.text


def test_an_unreachable_mail_server_fails_the_send_so_the_job_retries(app: Erlen) -> None:
    config = {**app.config, "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1"}
    config["MAIL_PORT"] = service_port()  # nothing listens there
    with pytest.raises(OSError):
        mail.send(to="x@example.com", subject="Hi", text="body", config=config)
