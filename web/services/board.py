"""The board's use cases: what a view asks for, with the events and jobs a write implies.

A view calls one function here; that function is the only place that knows a new message
means a ``message.posted`` event and a ``process_message`` job.
"""

from __future__ import annotations

from erlen.ext.sqlalchemy import SessionLike

from .. import events
from ..extensions import outbox
from ..jobs import process_message
from ..models import Message
from . import messages


def post_message(*, session: SessionLike, author: str, body: str) -> Message:
    """Save a message, tell every board about it, and queue its processing.

    The event and the job are recorded in the message's transaction (the outbox): they go
    out if and only if the message is saved, and a Redis outage never fails the post (the
    relay sends them once Redis is back). Needs an app context.

    :raises ValidationError: the message breaks a rule; nothing is saved or sent.
    """
    message = messages.add_message(session=session, author=author, body=body)
    session.flush()  # the id and timestamp the event and the job carry
    outbox.publish(
        session, events.BOARD_CHANNEL, events.MESSAGE_POSTED, events.message_payload(message)
    )
    outbox.send(session, process_message, message.id)
    session.commit()
    return message
