"""Exports of a room's history (CSV or JSON): asked for on the page, built by the worker in
chunks with progress the browser follows live, downloaded (streamed) by the user who asked,
until they expire; a periodic job purges expired ones. The files themselves:
:mod:`.export_files`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import func
from sqlalchemy import select

from .. import events
from ..errors import AppError
from ..errors import NotFoundError
from ..errors import ValidationError
from ..extensions import jobs
from ..extensions import outbox
from ..jobs import build_export
from ..models import Export
from ..models import Room
from ..models import User
from ..models.export import CANCELLED
from ..models.export import FORMATS
from ..models.export import QUEUED
from ..models.export import RUNNING

#: How long a finished export can be downloaded.
LIFETIME = timedelta(hours=24)
#: Exports a user may have waiting or running at once.
MAX_PENDING = 3


class TooManyExports(AppError):
    status = 429


def request_export(*, session: SessionLike, room: Room, user: User, fmt: str) -> Export:
    """Queue an export of the room for the user (who may see the room: the caller checked).

    :raises ValidationError: an unknown format.
    :raises TooManyExports: the user has :data:`MAX_PENDING` exports in progress.
    """
    if fmt not in FORMATS:
        raise ValidationError(
            f"An export is one of {', '.join(FORMATS)}, got {fmt!r}.", field="format"
        )
    pending = session.scalar(
        select(func.count(Export.id)).where(
            Export.user_id == user.id, Export.status.in_((QUEUED, RUNNING))
        )
    )
    if (pending or 0) >= MAX_PENDING:
        raise TooManyExports(f"You have {MAX_PENDING} exports in progress; wait for one.")
    now = datetime.now(UTC)
    export = Export(
        id=uuid.uuid4().hex,
        room_id=room.id,
        user_id=user.id,
        format=fmt,
        status=QUEUED,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(export)
    session.flush()
    job_id = outbox.send_with_options(
        session, build_export, args=(export.id,), progress_channel=events.user_channel(user.id)
    )
    export.job_id = str(job_id)
    session.commit()
    return export


def get_export(*, session: SessionLike, export_id: str, user: User) -> Export:
    """The user's export.

    :raises NotFoundError: no such export, or someone else's.
    """
    export = session.get(Export, export_id) if len(export_id) == 32 else None
    if export is None or export.user_id != user.id:
        raise NotFoundError(f"You have no export {export_id}.")
    return export


def cancel(*, session: SessionLike, export: Export) -> None:
    """Stop an export: one still queued is cancelled now (the job then finds nothing to
    do); a running one stops at its next chunk (the job records it)."""
    if export.job_id:
        jobs.cancel(export.job_id)
    if export.status == QUEUED:
        export.status = CANCELLED
        session.commit()
