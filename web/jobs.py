"""Background jobs (actors), run by ``python -m worker`` or, in ``make dev``, a worker thread.

Each is thin and idempotent: it takes ids, calls a service, publishes an event. Jobs are
at-least-once, so running one twice must do no harm. Importing this module declares them.
"""

from __future__ import annotations

from erlen.ext.jobs import JobCancelled

from . import events
from . import mail
from .extensions import db
from .extensions import jobs
from .extensions import outbox
from .models.export import CANCELLED
from .services import export_files
from .services import messages
from .services import notifications


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
        # Mentioned users hear of it live; those not in the room also get a mail.
        for to, subject, text in notifications.notify_mentions(session=db.session, message=message):
            outbox.send(db.session, send_email, to, subject, text)
    db.session.commit()


@jobs.actor(max_retries=8, min_backoff=5_000, max_backoff=300_000, time_limit=60_000)
def send_email(to: str, subject: str, text: str) -> None:
    """Send a mail (:mod:`web.mail`); an SMTP failure raises, and the job is retried with
    backoff for about half an hour, then dead-lettered (the admin's failed jobs page)."""
    mail.send(to=to, subject=subject, text=text)


@jobs.actor(max_retries=3, time_limit=10 * 60_000)
def build_export(export_id: str) -> None:
    """Write a room's export in chunks, reporting progress to whoever asked (their user
    channel); a cancel request stops it at the next chunk."""

    def report(current: int, total: int, message: str) -> None:
        jobs.report_progress(current, total, message)

    try:
        export = export_files.build(session=db.session, export_id=export_id, report=report)
    except JobCancelled:
        db.session.rollback()
        export_files.mark(session=db.session, export_id=export_id, status=CANCELLED)
        raise
    if export is not None:
        rows = export.rows or 0
        jobs.report_progress(rows, rows, "ready", result_url=export_files.download_path(export_id))


@jobs.actor(max_retries=3)
def purge_expired() -> None:
    """The periodic clean-up (``JOBS_SCHEDULE``): expired exports and their files."""
    export_files.purge_expired(session=db.session)
