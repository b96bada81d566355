"""The event contract between web, worker and realtime: every channel and event name.

Events cross Redis pub/sub (at-most-once). Each carries the row's id so a client that
missed events can catch up from the HTTP API; nobody invents channel strings elsewhere.
"""

from __future__ import annotations

import typing as t

from .models import Message

#: The board everyone on the page is subscribed to.
BOARD_CHANNEL = "board"
#: A room's channel: its messages, presence and typing (``room_channel``).
ROOM_CHANNEL_PREFIX = "room."
#: A user's own channel: what is for them alone, mentions (``user_channel``).
USER_CHANNEL_PREFIX = "user."

#: A message was saved by web (before the worker processed it).
MESSAGE_POSTED = "message.posted"
#: The worker finished processing a message (word count filled in).
MESSAGE_PROCESSED = "message.processed"
#: A message in a room was edited, or deleted (the payload is ``{"id", "room_id"}``).
MESSAGE_EDITED = "message.edited"
MESSAGE_DELETED = "message.deleted"
#: Somebody mentioned the user (on the user's channel); the payload is a RoomMessageEvent.
MENTIONED = "mention"
#: A client is typing; relayed between clients by realtime, never stored.
TYPING = "typing"

#: Events clients may publish themselves (realtime relays only these).
CLIENT_EVENTS = frozenset({TYPING})


class MessageEvent(t.TypedDict):
    """Payload of :data:`MESSAGE_POSTED` and :data:`MESSAGE_PROCESSED`."""

    id: int
    author: str
    body: str
    word_count: int | None
    created_at: str


class RoomMessageEvent(MessageEvent):
    """Payload of the events of a message in a room."""

    room_id: int
    user_id: int | None
    edited_at: str | None


def room_channel(room_id: int) -> str:
    """The channel of the room with this id."""
    return f"{ROOM_CHANNEL_PREFIX}{room_id}"


def user_channel(user_id: int) -> str:
    """The channel only this user may subscribe to."""
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def channel_id(channel: str, prefix: str) -> int | None:
    """The id in ``room.12`` or ``user.3`` for that prefix, or ``None``."""
    if not channel.startswith(prefix):
        return None
    rest = channel[len(prefix) :]
    return int(rest) if rest.isdigit() and len(rest) <= 10 else None


def channel_of(message: Message) -> str:
    """Where a message's events go: its room's channel, or the board's."""
    return BOARD_CHANNEL if message.room_id is None else room_channel(message.room_id)


def room_message_payload(message: Message) -> RoomMessageEvent:
    """The event payload (and API body) of a message in a room."""
    assert message.room_id is not None
    return {
        **message_payload(message),
        "room_id": message.room_id,
        "user_id": message.user_id,
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
    }


def payload_of(message: Message) -> MessageEvent:
    """The payload for a message, of the board or a room."""
    return message_payload(message) if message.room_id is None else room_message_payload(message)


def message_payload(message: Message) -> MessageEvent:
    """The event payload for a message."""
    return {
        "id": message.id,
        "author": message.author,
        "body": message.body,
        "word_count": message.word_count,
        "created_at": message.created_at.isoformat(),
    }
