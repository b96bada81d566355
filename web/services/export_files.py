"""The files of exports: written by the worker in chunks (the ``build_export`` job), read
back as a stream for the download, purged when they expire. See :mod:`.exports`."""

from __future__ import annotations

import csv
import io
import json
import typing as t
from datetime import datetime
from datetime import UTC

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from ..errors import AppError
from ..models import Export
from ..models import ExportChunk
from ..models import Message
from ..models.export import CANCELLED
from ..models.export import DONE
from ..models.export import RUNNING

#: Messages per chunk (and per progress report).
CHUNK = 200
CSV_COLUMNS = ("id", "created_at", "author", "body", "edited_at")

Report = t.Callable[[int, int, str], None]


class ExportGone(AppError):
    """The export expired (its file is deleted)."""

    status = 410


class ExportNotReady(AppError):
    """The export is still being built, or failed."""

    status = 409


def download_path(export_id: str) -> str:
    """Where the finished file is downloaded (the job links it without a request)."""
    return f"/exports/{export_id}/download"


def _csv_chunk(messages: t.Sequence[Message], header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    for m in messages:
        edited = m.edited_at.isoformat() if m.edited_at else ""
        writer.writerow((m.id, m.created_at.isoformat(), m.author, m.body, edited))
    return out.getvalue().encode()


def _json_chunk(messages: t.Sequence[Message], first: bool) -> bytes:
    items = ",\n".join(
        json.dumps(
            {
                "id": m.id,
                "created_at": m.created_at.isoformat(),
                "author": m.author,
                "body": m.body,
                "edited_at": m.edited_at.isoformat() if m.edited_at else None,
            },
            ensure_ascii=False,
        )
        for m in messages
    )
    return (("[\n" if first else ",\n") + items).encode() if items else (b"[\n" if first else b"")


def build(*, session: SessionLike, export_id: str, report: Report) -> Export | None:
    """Write the export's file, chunk by chunk, reporting progress; the job's body.

    Idempotent: a finished export is left alone, and a retry starts the file over.
    Returns the export, or ``None`` if it no longer exists or was already built.
    """
    export = session.get(Export, export_id)
    if export is None or export.status in (DONE, CANCELLED):
        return None
    export.status = RUNNING
    session.execute(delete(ExportChunk).where(ExportChunk.export_id == export_id))
    session.commit()
    query = select(Message).where(Message.room_id == export.room_id)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    written, seq, after = 0, 0, 0
    report(0, total, "starting")
    while True:
        batch = list(
            session.scalars(query.where(Message.id > after).order_by(Message.id).limit(CHUNK))
        )
        first = seq == 0
        if export.format == "csv":
            data = _csv_chunk(batch, header=first)
        else:
            data = _json_chunk(batch, first=first)
        if not batch and export.format == "json":
            data += b"\n]\n"
        if data:
            session.add(ExportChunk(export_id=export_id, seq=seq, data=data))
            seq += 1
        session.commit()
        if not batch:
            break
        written += len(batch)
        after = batch[-1].id
        report(written, total, f"{written} of {total} messages")
    export.status = DONE
    export.rows = written
    session.commit()
    return export


def mark(*, session: SessionLike, export_id: str, status: str) -> None:
    """Record how an unfinished build ended (cancelled, failed), dropping what it wrote."""
    export = session.get(Export, export_id)
    if export is not None and export.status != DONE:
        export.status = status
        session.execute(delete(ExportChunk).where(ExportChunk.export_id == export_id))
        session.commit()


def chunks(*, session: SessionLike, export: Export) -> t.Iterator[bytes]:
    """The file, chunk by chunk, for a streamed download.

    :raises ExportGone: it expired.
    :raises ExportNotReady: it isn't built (yet).
    """
    if export.expires_at <= datetime.now(UTC):
        raise ExportGone("This export expired; ask for a new one.")
    if export.status != DONE:
        raise ExportNotReady(f"This export is {export.status}, not ready to download.")
    seqs = list(
        session.scalars(
            select(ExportChunk.seq)
            .where(ExportChunk.export_id == export.id)
            .order_by(ExportChunk.seq)
        )
    )

    def read() -> t.Iterator[bytes]:
        # One chunk in memory at a time, however long the room's history.
        for seq in seqs:
            data = session.scalar(
                select(ExportChunk.data).where(
                    ExportChunk.export_id == export.id, ExportChunk.seq == seq
                )
            )
            if data:
                yield bytes(data)

    return read()


def purge_expired(*, session: SessionLike, now: datetime | None = None) -> int:
    """Delete expired exports and their files; returns how many."""
    now = now or datetime.now(UTC)
    expired = list(session.scalars(select(Export.id).where(Export.expires_at <= now)))
    if expired:
        session.execute(delete(ExportChunk).where(ExportChunk.export_id.in_(expired)))
        session.execute(delete(Export).where(Export.id.in_(expired)))
        session.commit()
    return len(expired)
