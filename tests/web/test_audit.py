"""The audit log: the login extension's signals become rows the user sees on their profile."""

from __future__ import annotations

import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from web.extensions import db
from web.models import AuditEvent
from web.models import User

SignIn = t.Callable[..., FlaskClient]


def _actions(app: Erlen, username: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.user_id == user_id).order_by(AuditEvent.id)
        )
        return [(e.action, e.ip) for e in events]


def test_signing_in_and_out_is_recorded_with_the_address(app: Erlen, sign_in: SignIn) -> None:
    ada = sign_in("ada")
    assert _actions(app, "ada") == [("login", "127.0.0.1")]
    assert ada.post("/logout", data={"everywhere": "1"}).status_code == 302
    assert _actions(app, "ada") == [
        ("login", "127.0.0.1"),
        ("sessions_revoked", "127.0.0.1"),
        ("logout", "127.0.0.1"),
    ]


def test_the_profile_shows_recent_activity(app: Erlen, sign_in: SignIn) -> None:
    ada = sign_in("ada")
    changed = ada.post(
        "/account/password",
        data={"current_password": "correct horse battery", "new_password": "a brand new one"},
    )
    assert changed.status_code == 302
    page = ada.get("/account/").get_data(as_text=True)
    assert "<title>Your account · erlen starter</title>" in page
    assert page.count('id="activity"') == 1
    activity = page.split('id="activity"', 1)[1].split("</table>", 1)[0]
    # Newest first: the password change ended every session, then signed this one in again.
    assert activity.index("Signed in") < activity.index("Every session ended")
    assert activity.count("Signed in") == 2 and "127.0.0.1" in activity


def test_an_audit_write_that_fails_never_fails_the_sign_in(
    app: Erlen, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: t.Any, **kwargs: t.Any) -> None:
        raise sa_exc.OperationalError("INSERT", {}, Exception("database is gone"))

    monkeypatch.setattr(AuditEvent, "__init__", broken)
    ada = sign_in("ada")  # asserts the login's 302
    assert ada.get("/account/").status_code == 200
