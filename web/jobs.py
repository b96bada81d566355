"""Background jobs (actors), run by ``python -m worker`` or, in ``make dev``, a worker thread.

Each is thin and idempotent: it takes ids, calls a service, publishes an event. Jobs are
at-least-once, so running one twice must do no harm. Importing this module declares them.
"""

from __future__ import annotations

from . import events
from . import mail
from .extensions import db
from .extensions import jobs
from .extensions import outbox
from .services import messages


@jobs.actor(max_retries=5, time_limit=30_000)
def process_message(message_id: int) -> None:
    """Count a message's words and tell its board or room about it, once; then tell each user
    it mentions who hasn't been told yet.

    The events are recorded in the transaction that stores the count (the outbox), so a
    duplicate run finds the message processed and announces nothing, and a Redis outage
    doesn't fail the job: the relay publishes the events once Redis is back.
    """
    message = messages.process_message(session=db.session, message_id=message_id)
    if message is not None:
        outbox.publish(
            db.session,
            events.channel_of(message),
            events.MESSAGE_PROCESSED,
            events.payload_of(message),
        )
        for user_id in messages.claim_mentions(session=db.session, message=message):
            outbox.publish(
                db.session,
                events.user_channel(user_id),
                events.MENTIONED,
                events.payload_of(message),
            )
    db.session.commit()


@jobs.actor(max_retries=8, min_backoff=5_000, max_backoff=300_000, time_limit=60_000)
def send_email(to: str, subject: str, text: str) -> None:
    """Send a mail (:mod:`web.mail`); an SMTP failure raises, and the job is retried with
    backoff for about half an hour, then dead-lettered (the admin's failed jobs page)."""
    mail.send(to=to, subject=subject, text=text)
