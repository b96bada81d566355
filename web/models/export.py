"""A room's history exported to a file (CSV or JSON), built by the worker in chunks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .base import Base
from .base import UTCDateTime

#: An export's states: waiting for the worker, being built, ready, or not.
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FORMATS = ("csv", "json")


class Export(Base):
    """One export of a room's messages, for the user who asked; downloadable until
    ``expires_at``. The file lives in :class:`ExportChunk` rows, so web and worker (separate
    containers) share it through the database, and the download streams it."""

    __tablename__ = "exports"

    #: A random hex id: it names the export in URLs.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)
    #: The job's message id: its progress is read with ``jobs.job_state``.
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    rows: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ExportChunk(Base):
    """A piece of an export's file, in order."""

    __tablename__ = "export_chunks"

    export_id: Mapped[str] = mapped_column(
        ForeignKey("exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
