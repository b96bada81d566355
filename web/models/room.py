"""Rooms, who belongs to them, and who a message mentions."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base
from .base import UTCDateTime

SLUG_MAX = 40
NAME_MAX = 80
TOPIC_MAX = 200

#: A member's role: the owner manages members; every member may post.
OWNER = "owner"
MEMBER = "member"


def _now() -> datetime:
    return datetime.now(UTC)


class Room(Base):
    """A place to talk. Anyone signed in may join a public room; a private room's owner adds
    its members, and nobody else can see it exists."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The room's name in URLs (``/rooms/<slug>``): lower-case letters, digits and dashes.
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX), default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    def __repr__(self) -> str:
        return f"<Room {self.id} {self.slug!r}>"


class Membership(Base):
    """A user in a room, as its owner or a member."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default=MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class Mention(Base):
    """A user named with ``@username`` in a message; ``notified_at`` is set once the worker
    has told them (so a retried or repeated job notifies nobody twice)."""

    __tablename__ = "mentions"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
