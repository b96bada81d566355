"""Demo data for a fresh install: a few users, rooms and a conversation, so the first page
``make dev`` shows is alive. Used by ``erlen seed``; never run against a database with users
(it would be mixing made-up accounts into real ones)."""

from __future__ import annotations

import typing as t

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import func
from sqlalchemy import select

from ..models import User
from . import accounts
from . import room_messages
from . import rooms

#: The demo accounts' password (printed by ``erlen seed``; demo data only).
DEMO_PASSWORD = "erlen-demo-password"
DEMO_USERS = ("ada", "grace", "linus")
#: Who says what in the demo's public room, in order.
CONVERSATION = (
    ("ada", "Welcome to the general room! Messages appear live in every open browser."),
    ("grace", "Hi @ada. Open this page in a second browser, log in as linus, and type."),
    ("linus", "Typing shows under my name, and the room lists who is here."),
    ("ada", "Edit or delete your own messages from the links next to them."),
)


class Seeded(t.NamedTuple):
    users: list[str]
    rooms: list[str]
    messages: int


def is_empty(*, session: SessionLike) -> bool:
    """Whether the database has no users yet."""
    return not session.scalar(select(func.count(User.id)))


def seed(*, session: SessionLike) -> Seeded:
    """Create the demo users (``ada`` is an admin), a public and a private room, and a short
    conversation; the word-count jobs are queued as for any post.

    :raises RuntimeError: the database already has users.
    """
    if not is_empty(session=session):
        raise RuntimeError("The database already has users; demo data goes into an empty one.")
    users = {
        name: accounts.register(session=session, username=name, password=DEMO_PASSWORD)
        for name in DEMO_USERS
    }
    users["ada"].is_admin = True
    users["ada"].email = "ada@example.com"
    users["grace"].email = "grace@example.com"
    session.commit()
    general = rooms.create_room(
        session=session, owner=users["ada"], name="General", topic="Say hello"
    )
    team = rooms.create_room(
        session=session,
        owner=users["grace"],
        name="Core team",
        topic="Private: only its members see it",
        is_private=True,
    )
    rooms.add_member(session=session, room=team, actor=users["grace"], username="ada")
    for name in DEMO_USERS[1:]:
        rooms.join_room(session=session, room=general, user=users[name])
    for name, body in CONVERSATION:
        room_messages.post_message(session=session, room=general, author=users[name], body=body)
    room_messages.post_message(
        session=session, room=team, author=users["grace"], body="Only ada and I can read this."
    )
    return Seeded(list(DEMO_USERS), [general.slug, team.slug], len(CONVERSATION) + 1)
