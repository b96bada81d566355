"""A registered user. Visitors can post without an account; a user posts under their name."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.login import UserMixin
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base

USERNAME_MAX = 40


def _now() -> datetime:
    return datetime.now(UTC)


class User(UserMixin, Base):
    """An account. ``session_epoch`` goes up on "log out everywhere", revoking every session."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"
