"""Background jobs. Each is thin and idempotent: it takes ids, calls a web service, publishes
an event. Jobs are at-least-once, so running one twice must do no harm."""

from __future__ import annotations

from web import events
from web.extensions import db
from web.extensions import jobs
from web.extensions import publisher
from web.services import messages


@jobs.actor(max_retries=5, time_limit=30_000)
def process_message(message_id: int) -> None:
    """Count a message's words and tell every board about it."""
    message = messages.process_message(session=db.session, message_id=message_id)
    if message is not None:
        publisher.publish(
            events.BOARD_CHANNEL, events.MESSAGE_PROCESSED, events.message_payload(message)
        )
