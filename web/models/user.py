"""A registered user. Visitors can post without an account; a user posts under their name."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.login import UserMixin
from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base
from .base import UTCDateTime

USERNAME_MAX = 40
#: RFC 5321's limit on an address's length.
EMAIL_MAX = 254


def _now() -> datetime:
    return datetime.now(UTC)


class User(UserMixin, Base):
    """An account. ``session_epoch`` goes up on "log out everywhere", revoking every session.

    An admin may moderate every room and manage users. A deactivated account keeps its rows
    (messages stay attributed) but can't log in, and its sessions and tokens stop working.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    #: Where password resets and notifications go; accounts from before email have none.
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True, default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)

    @property
    def is_active(self) -> bool:  # the login extension refuses inactive users
        return self.deactivated_at is None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
