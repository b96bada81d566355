"""The board's use cases: what a view asks for, with the events and jobs a write implies.

A view calls one function here; that function is the only place that knows a new message
means a ``message.posted`` event and a ``process_message`` job.
"""

from __future__ import annotations

from erlen.ext.sqlalchemy import SessionLike

from .. import events
from ..extensions import publisher
from ..jobs import process_message
from ..models import Message
from . import messages


def post_message(*, session: SessionLike, author: str, body: str) -> Message:
    """Save a message, tell every board about it, and queue its processing.

    Needs an app context (the publisher and the job queue are the app's).

    :raises ValidationError: the message breaks a rule; nothing is saved or sent.
    """
    message = messages.add_message(session=session, author=author, body=body)
    session.commit()
    # Sent after the commit, so nothing goes out for a write that failed. A crash right here
    # loses the event and the job: the transactional outbox (DESIGN.md) will record both in
    # the transaction above instead, and a relay will send them; callers won't change.
    publisher.publish(events.BOARD_CHANNEL, events.MESSAGE_POSTED, events.message_payload(message))
    process_message.send(message.id)
    return message
