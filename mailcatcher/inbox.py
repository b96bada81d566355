"""What the catcher holds: the last messages it was sent, parsed once on arrival."""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import itertools
import threading
import typing as t
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class CaughtMessage:
    """One message as it arrived: the envelope, the headers people read, the text."""

    id: int
    received_at: dt.datetime
    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    size: int

    def as_json(self) -> dict[str, t.Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "from": self.mail_from,
            "to": list(self.recipients),
            "subject": self.subject,
            "text": self.text,
            "size": self.size,
        }


def _text_of(message: EmailMessage) -> str:
    """The plain-text body (the first text/plain part of a multipart message)."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


class Inbox:
    """The newest ``capacity`` messages, oldest dropped first; safe across threads (the SMTP
    server's loop adds, the web server's threads read)."""

    def __init__(self, capacity: int = 500) -> None:
        self._messages: collections.deque[CaughtMessage] = collections.deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, mail_from: str, recipients: t.Iterable[str], data: bytes) -> CaughtMessage:
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # what policy.default makes
        with self._lock:
            message = CaughtMessage(
                id=next(self._ids),
                received_at=dt.datetime.now(dt.UTC),
                mail_from=mail_from,
                recipients=tuple(recipients),
                subject=str(parsed.get("Subject", "")),
                text=_text_of(parsed),
                size=len(data),
            )
            self._messages.append(message)
        return message

    def newest_first(self) -> list[CaughtMessage]:
        with self._lock:
            return list(reversed(self._messages))

    def get(self, message_id: int) -> CaughtMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
            return count
