"""Who may subscribe and publish on which channel. Channel and event names come from
:mod:`web.events`.

- ``board``: every visitor with a session (the board page gives them one).
- ``room.<id>``: signed-in users who may see the room (any public room; a private one's
  members and admins). Typing there is for members only.
- ``user.<id>``: that user alone (their mentions).

A room's rules live in the database, so they are asked through ``room_access`` (see
:class:`DatabaseRoomAccess`), off the event loop and briefly cached.
"""

from __future__ import annotations

import asyncio
import enum
import time
import typing as t

from erlen import Erlen
from sqlalchemy import select

from web import events
from web.extensions import db
from web.models import Membership
from web.models import Room
from web.models import User
from web.visitors import NAME_KEY

#: The session key erlen.ext.login keeps the signed-in user's id under.
USER_ID_KEY = "_user_id"


class Access(enum.IntEnum):
    """What a user may do on a room's channel."""

    NONE = 0  #: nothing: no such room, or a private one they aren't in
    VIEW = 1  #: listen (a public room they haven't joined; an admin)
    MEMBER = 2  #: listen and type


RoomAccess = t.Callable[[int, int], t.Awaitable[Access]]


def _visitor(session: t.Mapping[str, t.Any] | None) -> str | None:
    """The name the page shows for this session: the user's, else the visitor id."""
    if not session:
        return None
    for key in (NAME_KEY, "visitor"):
        name = session.get(key)
        if isinstance(name, str) and name:
            return name
    return None


def _user_id(session: t.Mapping[str, t.Any] | None) -> int | None:
    raw = session.get(USER_ID_KEY) if session else None
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


class ChannelPolicy:
    """The ``authorize``, ``presence_id`` and ``on_publish`` callbacks of the server.

    :param room_access: tells what a user may do in a room, ``(user_id, room_id) -> Access``.
    """

    def __init__(self, room_access: RoomAccess) -> None:
        self.room_access = room_access

    async def _access(self, session: t.Mapping[str, t.Any] | None, channel: str) -> Access:
        room_id = events.channel_id(channel, events.ROOM_CHANNEL_PREFIX)
        user_id = _user_id(session)
        if room_id is None or user_id is None:
            return Access.NONE
        return await self.room_access(user_id, room_id)

    async def authorize(self, session: t.Mapping[str, t.Any] | None, channel: str) -> bool:
        """May this session subscribe to this channel?"""
        if channel == events.BOARD_CHANNEL:
            return _visitor(session) is not None
        user_channel = events.channel_id(channel, events.USER_CHANNEL_PREFIX)
        if user_channel is not None:
            return user_channel == _user_id(session)
        return await self._access(session, channel) >= Access.VIEW

    def presence_id(self, session: t.Mapping[str, t.Any] | None, channel: str) -> str | None:
        """Who a subscriber counts as in a board's or room's "here" list: the name the page
        shows. (Only subscribers get here, so authorize has already been asked.)"""
        if channel == events.BOARD_CHANNEL or channel.startswith(events.ROOM_CHANNEL_PREFIX):
            return _visitor(session)
        return None

    async def on_publish(
        self, session: t.Mapping[str, t.Any] | None, channel: str, event: str, data: t.Any
    ) -> dict[str, t.Any] | None:
        """Relay a client's ephemeral event (``typing``) to the channel, stamped with who
        sent it.

        The client's own data is dropped: the name comes from the signed session, so nobody
        can type as someone else. In a room only members may type.
        """
        visitor = _visitor(session)
        if visitor is None or event not in events.CLIENT_EVENTS:
            return None
        if channel != events.BOARD_CHANNEL and await self._access(session, channel) < Access.MEMBER:
            return None
        return {"event": event, "data": {"visitor": visitor}}


class DatabaseRoomAccess:
    """Room access read from the database in a worker thread, remembered for ``ttl`` seconds.

    The cache bounds the queries a reconnect storm makes; a membership change reaches new
    subscriptions within ``ttl`` (a socket already subscribed stays until it reconnects).
    """

    def __init__(self, app: Erlen, ttl: float = 10.0) -> None:
        self.app = app
        self.ttl = ttl
        self._cache: dict[tuple[int, int], tuple[float, Access]] = {}

    async def __call__(self, user_id: int, room_id: int) -> Access:
        key = (user_id, room_id)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        access = await asyncio.to_thread(self.lookup, user_id, room_id)
        if len(self._cache) > 50_000:  # a crude bound: start over rather than grow forever
            self._cache.clear()
        self._cache[key] = (now + self.ttl, access)
        return access

    def lookup(self, user_id: int, room_id: int) -> Access:
        """Ask the database (blocking)."""
        with self.app.app_context():
            try:
                row = db.session.execute(
                    select(Room.is_private, User.is_admin, Membership.id)
                    .select_from(Room)
                    .join(User, User.id == user_id)
                    .outerjoin(
                        Membership,
                        (Membership.room_id == Room.id) & (Membership.user_id == user_id),
                    )
                    .where(Room.id == room_id, User.deactivated_at.is_(None))
                ).first()
            finally:
                db.session.remove()
        if row is None:
            return Access.NONE
        is_private, is_admin, membership_id = row
        if membership_id is not None:
            return Access.MEMBER
        return Access.VIEW if is_admin or not is_private else Access.NONE
