"""Mentions: the mentioned user hears of it once, live on their own channel, and by mail
when they aren't in the room (and have an address)."""

from __future__ import annotations

import asyncio
import json
import logging
import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from sqlalchemy import select

from web import events
from web.extensions import db
from web.extensions import publisher
from web.models import Message
from web.models import User

SignIn = t.Callable[..., FlaskClient]


def _user_id(app: Erlen, username: str) -> int:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return int(user_id)


def _mentions_heard(app: Erlen, user_id: int) -> list[dict[str, t.Any]]:
    history = asyncio.run(publisher.get_broker(app).history(events.user_channel(user_id), since=0))
    payloads = [json.loads(e) for e in history.events or []]
    return [p["data"] for p in payloads if p["event"] == events.MENTIONED]


def test_a_mention_is_heard_once_and_mailed_to_who_is_away(
    app: Erlen, sign_in: SignIn, worker: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="web.mail")
    ada, bob, carol = sign_in("ada"), sign_in("bob"), sign_in("carol")
    assert ada.post("/account/email", data={"email": "ada@example.com"}).status_code == 302
    ada.post("/rooms/", data={"name": "General"})
    bob.post("/rooms/general/join")
    carol.post("/rooms/general/join")
    bob.post("/rooms/general/messages", data={"body": "@ada and @carol: lunch? (@nobody too)"})
    worker.drain()

    heard = _mentions_heard(app, _user_id(app, "ada"))
    assert [m["body"] for m in heard] == ["@ada and @carol: lunch? (@nobody too)"]
    assert len(_mentions_heard(app, _user_id(app, "carol"))) == 1
    mails = [r.getMessage() for r in caplog.records if "Mail not sent" in r.getMessage()]
    assert len(mails) == 1  # carol has no address; ada does and isn't in the room
    assert "To: ada@example.com" in mails[0] and "bob mentioned you in General" in mails[0]

    # An edit is counted again, but nobody is told twice.
    with app.app_context():
        message_id = db.session.scalar(select(Message.id))
    edit = f"/rooms/general/messages/{message_id}/edit"
    assert bob.post(edit, data={"body": "@ada lunch at noon"}).status_code == 302
    worker.drain()
    assert len(_mentions_heard(app, _user_id(app, "ada"))) == 1
    assert len([r for r in caplog.records if "Mail not sent" in r.getMessage()]) == 1


def test_a_private_room_mentions_only_its_members(
    app: Erlen, sign_in: SignIn, worker: t.Any
) -> None:
    ada, _ = sign_in("ada"), sign_in("outsider")
    ada.post("/rooms/", data={"name": "Secret", "private": "1"})
    ada.post("/rooms/secret/messages", data={"body": "hi @outsider"})
    worker.drain()
    assert _mentions_heard(app, _user_id(app, "outsider")) == []
