"""Who may subscribe to and publish on the board, the rooms and a user's own channel."""

from __future__ import annotations

import asyncio
import typing as t

from erlen import Erlen

from realtime.handlers import Access
from realtime.handlers import ChannelPolicy
from realtime.handlers import DatabaseRoomAccess
from web import events
from web.extensions import db
from web.services import accounts
from web.services import rooms

ROOMS = {(1, 10): Access.MEMBER, (2, 10): Access.VIEW}


async def _rooms(user_id: int, room_id: int) -> Access:
    return ROOMS.get((user_id, room_id), Access.NONE)


policy = ChannelPolicy(_rooms)


def authorize(session: t.Mapping[str, t.Any] | None, channel: str) -> bool:
    return asyncio.run(policy.authorize(session, channel))


def on_publish(
    session: t.Mapping[str, t.Any] | None, channel: str, event: str, data: t.Any
) -> dict[str, t.Any] | None:
    return asyncio.run(policy.on_publish(session, channel, event, data))


presence_id = policy.presence_id


def test_visitors_with_a_session_may_subscribe_to_the_board() -> None:
    assert authorize({"visitor": "visitor-1"}, events.BOARD_CHANNEL)


def test_no_session_or_other_channels_are_refused() -> None:
    assert not authorize(None, events.BOARD_CHANNEL)
    assert not authorize({}, events.BOARD_CHANNEL)
    assert not authorize({"visitor": ""}, events.BOARD_CHANNEL)
    assert not authorize({"visitor": "visitor-1"}, "admin")


def test_typing_is_relayed_with_the_name_from_the_session_not_the_client() -> None:
    relayed = on_publish(
        {"visitor": "visitor-1"}, events.BOARD_CHANNEL, events.TYPING, {"visitor": "someone-else"}
    )
    assert relayed == {"event": events.TYPING, "data": {"visitor": "visitor-1"}}


def test_clients_cannot_publish_server_events_or_without_a_session() -> None:
    assert on_publish({"visitor": "v"}, events.BOARD_CHANNEL, events.MESSAGE_PROCESSED, {}) is None
    assert on_publish(None, events.BOARD_CHANNEL, events.TYPING, {}) is None
    assert on_publish({"visitor": "v"}, "other", events.TYPING, {}) is None


def test_the_name_the_page_shows_is_used_over_the_visitor_id() -> None:
    session = {"visitor": "visitor-1", "name": "alice"}
    relayed = on_publish(session, events.BOARD_CHANNEL, events.TYPING, {})
    assert relayed == {"event": events.TYPING, "data": {"visitor": "alice"}}


def test_presence_on_the_board_and_rooms_is_the_shown_name_and_nowhere_else() -> None:
    assert presence_id({"visitor": "visitor-1"}, events.BOARD_CHANNEL) == "visitor-1"
    assert presence_id({"visitor": "v", "name": "alice"}, events.BOARD_CHANNEL) == "alice"
    assert presence_id({"name": "alice"}, events.room_channel(10)) == "alice"
    assert presence_id({"visitor": "visitor-1"}, "other") is None
    assert presence_id({"name": "alice"}, events.user_channel(1)) is None
    assert presence_id({}, events.BOARD_CHANNEL) is None


def test_a_room_channel_is_for_who_may_see_the_room() -> None:
    room = events.room_channel(10)
    assert authorize({"_user_id": "1", "name": "ada"}, room)  # a member
    assert authorize({"_user_id": "2", "name": "bob"}, room)  # may view (public, not joined)
    assert not authorize({"_user_id": "3", "name": "eve"}, room)  # private, not a member
    assert not authorize({"visitor": "visitor-1"}, room)  # not signed in
    assert not authorize({"_user_id": "1"}, "room.x")
    assert not authorize({"_user_id": "1"}, "room.99999999999")


def test_only_members_type_in_a_room() -> None:
    room = events.room_channel(10)
    assert on_publish({"_user_id": "1", "name": "ada"}, room, events.TYPING, {}) == {
        "event": events.TYPING,
        "data": {"visitor": "ada"},
    }
    assert on_publish({"_user_id": "2", "name": "bob"}, room, events.TYPING, {}) is None
    assert on_publish({"_user_id": "1", "name": "ada"}, room, events.MESSAGE_POSTED, {}) is None


def test_a_user_channel_is_for_that_user_alone() -> None:
    assert authorize({"_user_id": "1"}, events.user_channel(1))
    assert not authorize({"_user_id": "2"}, events.user_channel(1))
    assert not authorize({"visitor": "visitor-1"}, events.user_channel(1))


def test_room_access_comes_from_the_database(app: Erlen) -> None:
    with app.app_context():
        owner = accounts.register(session=db.session, username="owner", password="p" * 12)
        member = accounts.register(session=db.session, username="member", password="p" * 12)
        outsider = accounts.register(session=db.session, username="outsider", password="p" * 12)
        admin = accounts.register(session=db.session, username="admin", password="p" * 12)
        admin.is_admin = True
        db.session.commit()
        public = rooms.create_room(session=db.session, owner=owner, name="Public")
        private = rooms.create_room(session=db.session, owner=owner, name="Secret", is_private=True)
        rooms.add_member(session=db.session, room=private, actor=owner, username="member")
        ids = {u.username: u.id for u in (owner, member, outsider, admin)}
        public_id, private_id = public.id, private.id
    access = DatabaseRoomAccess(app, ttl=0)
    assert access.lookup(ids["member"], private_id) is Access.MEMBER
    assert access.lookup(ids["outsider"], private_id) is Access.NONE
    assert access.lookup(ids["admin"], private_id) is Access.VIEW
    assert access.lookup(ids["outsider"], public_id) is Access.VIEW
    assert access.lookup(ids["owner"], public_id) is Access.MEMBER
    assert access.lookup(ids["owner"], 999) is Access.NONE
    assert asyncio.run(access(ids["member"], private_id)) is Access.MEMBER


def test_room_access_is_cached_for_its_ttl(app: Erlen) -> None:
    calls: list[tuple[int, int]] = []

    class Counting(DatabaseRoomAccess):
        def lookup(self, user_id: int, room_id: int) -> Access:
            calls.append((user_id, room_id))
            return Access.VIEW

    access = Counting(app, ttl=10.0)

    async def twice() -> list[Access]:
        return [await access(1, 2), await access(1, 2), await access(1, 3)]

    assert asyncio.run(twice()) == [Access.VIEW] * 3
    assert calls == [(1, 2), (1, 3)]
