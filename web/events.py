"""The event contract between web, worker and realtime: every channel and event name.

Events cross Redis pub/sub (at-most-once). Each carries the row's id so a client that
missed events can catch up from the HTTP API; nobody invents channel strings elsewhere.
"""

from __future__ import annotations

import typing as t

from .models import Message

#: The board everyone on the page is subscribed to.
BOARD_CHANNEL = "board"

#: A message was saved by web (before the worker processed it).
MESSAGE_POSTED = "message.posted"
#: The worker finished processing a message (word count filled in).
MESSAGE_PROCESSED = "message.processed"
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


def message_payload(message: Message) -> MessageEvent:
    """The event payload for a message."""
    return {
        "id": message.id,
        "author": message.author,
        "body": message.body,
        "word_count": message.word_count,
        "created_at": message.created_at.isoformat(),
    }
