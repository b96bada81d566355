"""The mail catcher make up runs: mail sent over real SMTP shows up on its password-guarded
pages and JSON API; a message's text is escaped, its links clickable."""

from __future__ import annotations

import base64
import smtplib
import typing as t
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from erlen.pytest_tiers import service_port
from erlen.testing import FlaskClient

from mailcatcher import create_app
from mailcatcher import SMTPHandler
from mailcatcher.inbox import Inbox

PASSWORD = "catcher-password-for-tests"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"mail:{PASSWORD}".encode()).decode()}


@pytest.fixture
def catcher() -> t.Iterator[tuple[int, FlaskClient]]:
    """The SMTP port and a test client of the pages, over one inbox."""
    inbox = Inbox(capacity=3)
    port = service_port()
    controller = Controller(SMTPHandler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, create_app(inbox, PASSWORD).test_client()
    finally:
        controller.stop()


def _send(port: int, subject: str, text: str, to: str = "ada@example.com") -> None:
    message = EmailMessage()
    message["From"] = "erlen <no-reply@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message)


def test_caught_mail_is_listed_newest_first_and_readable(
    catcher: tuple[int, FlaskClient],
) -> None:
    port, client = catcher
    _send(port, "First", "one")
    _send(port, "Reset your password", "Open http://localhost:8080/password/reset/abc.def <now>")

    listed = client.get("/_mail/api/messages", headers=AUTH).get_json()
    assert [m["subject"] for m in listed] == ["Reset your password", "First"]
    assert listed[0]["to"] == ["ada@example.com"]
    assert listed[0]["from"] == "no-reply@localhost"

    page = client.get("/_mail/", headers=AUTH).get_data(as_text=True)
    assert page.index("Reset your password") < page.index("First")
    shown = client.get(f"/_mail/{listed[0]['id']}", headers=AUTH)
    text = shown.get_data(as_text=True)
    link = "http://localhost:8080/password/reset/abc.def"
    assert f'<a href="{link}">{link}</a>' in text
    assert "&lt;now&gt;" in text and "<now>" not in text
    assert "script-src" not in shown.headers["Content-Security-Policy"]  # no script at all


def test_the_pages_need_the_password_but_the_health_check_does_not(
    catcher: tuple[int, FlaskClient],
) -> None:
    _, client = catcher
    wrong = {"Authorization": "Basic " + base64.b64encode(b"mail:guess").decode()}
    for path in ("/_mail/", "/_mail/api/messages", "/_mail/1"):
        for headers in ({}, wrong):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert client.get("/_mail/healthz").status_code == 200


def test_the_inbox_keeps_the_newest_and_can_be_emptied(catcher: tuple[int, FlaskClient]) -> None:
    port, client = catcher
    for n in range(5):
        _send(port, f"message {n}", "text")

    listed = client.get("/_mail/api/messages", headers=AUTH).get_json()
    assert [m["subject"] for m in listed] == ["message 4", "message 3", "message 2"]
    assert client.get("/_mail/1", headers=AUTH).status_code == 404  # dropped

    assert client.delete("/_mail/api/messages", headers=AUTH).get_json() == {"deleted": 3}
    assert client.get("/_mail/api/messages", headers=AUTH).get_json() == []


def test_the_catcher_will_not_start_without_a_password() -> None:
    with pytest.raises(ValueError, match="MAILCATCHER_PASSWORD"):
        create_app(Inbox(), "")
