"""What happened to an account, for its owner and the admins: sign-ins, sign-outs, every
session ended at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base
from .base import UTCDateTime

#: The actions recorded (``web/audit.py`` says when).
LOGIN, LOGOUT, SESSIONS_REVOKED = "login", "logout", "sessions_revoked"


class AuditEvent(Base):
    """One thing that happened to an account, with the address it came from."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    #: The client's address (behind nginx, from the trusted X-Forwarded-For).
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
