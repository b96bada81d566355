"""Board messages: checking and adding one, listing, processing.

These functions don't announce anything; :mod:`web.services.board` decides what a new message
implies (an event and a job).
"""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import select

from ..errors import NotFoundError
from ..errors import ValidationError
from ..models.base import INTEGER_MAX
from ..models.message import AUTHOR_MAX
from ..models.message import BODY_MAX
from ..models.message import Message
from ..models.room import Mention
from .text import check_text

MAX_PAGE = 100


def check_body(body: str) -> str:
    """A message's text as stored: trimmed, 1 to ``BODY_MAX`` characters (board and rooms).

    :raises ValidationError: empty, too long, or text that can't be stored.
    """
    body = check_text(body, field="body").strip()
    if not body:
        raise ValidationError("A message needs some text.", field="body")
    if len(body) > BODY_MAX:
        raise ValidationError(
            f"A message is at most {BODY_MAX} characters, got {len(body)}.", field="body"
        )
    return body


def add_message(*, session: SessionLike, author: str, body: str) -> Message:
    """Validate a message and add it to the session; the caller commits.

    :raises ValidationError: empty body, body/author over the limits, or text that can't
        be stored (NUL, a lone surrogate).
    """
    body = check_body(body)
    author = check_text(author, field="author").strip()
    if not author or len(author) > AUTHOR_MAX:
        raise ValidationError(f"An author name is 1 to {AUTHOR_MAX} characters.", field="author")
    message = Message(author=author, body=body)
    session.add(message)
    return message


def list_messages(
    *, session: SessionLike, limit: int = 50, before_id: int | None = None
) -> list[Message]:
    """The newest messages first; ``before_id`` pages backwards.

    :raises ValidationError: ``limit`` or ``before_id`` out of range (``before_id`` names
        the query argument ``before``).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(
            f"limit must be between 1 and {MAX_PAGE}, got {limit}.", field="limit"
        )
    if before_id is not None and not 1 <= before_id <= INTEGER_MAX:
        raise ValidationError(
            f"before must be between 1 and {INTEGER_MAX}, got {before_id}.", field="before"
        )
    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    return list(session.scalars(query))


def get_message(*, session: SessionLike, message_id: int) -> Message:
    """One message.

    :raises NotFoundError: no message has that id.
    """
    # An id beyond the column's range names no message; Postgres would refuse the query.
    message = session.get(Message, message_id) if 1 <= message_id <= INTEGER_MAX else None
    if message is None:
        raise NotFoundError(f"There is no message {message_id}.")
    return message


def process_message(*, session: SessionLike, message_id: int) -> Message | None:
    """Count the words of a message; the caller commits (the row stays locked until then).

    Idempotent: returns the message if this call processed it, ``None`` if there is
    nothing to do — it was processed already, or no longer exists (not an error: the job
    may run after a delete, or twice).
    """
    if not 1 <= message_id <= INTEGER_MAX:
        return None
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.processed_at is not None:
        return None
    message.word_count = len(message.body.split())
    message.processed_at = datetime.now(UTC)
    return message


def claim_mentions(*, session: SessionLike, message: Message) -> list[int]:
    """The users the message mentions who haven't been told yet, marked told (the caller
    commits, with the notifications, so a rolled-back job tells nobody)."""
    pending = list(
        session.scalars(
            select(Mention)
            .where(Mention.message_id == message.id, Mention.notified_at.is_(None))
            .with_for_update()
        )
    )
    now = datetime.now(UTC)
    for mention in pending:
        mention.notified_at = now
    return [mention.user_id for mention in pending]
