"""A message posted to the board."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base
from .base import UTCDateTime

AUTHOR_MAX = 40
BODY_MAX = 500


def _now() -> datetime:
    return datetime.now(UTC)


class Message(Base):
    """A line on the board (``room_id`` is ``None``) or in a room. ``word_count`` is filled
    in by the worker's job. In a room, ``user_id`` is the author's account and ``author``
    their username when they posted."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX))
    body: Mapped[str] = mapped_column(String(BODY_MAX))
    word_count: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True, default=None
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"<Message {self.id} by {self.author!r}>"
