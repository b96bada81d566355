"""Exports: ask for one from a room, watch it being built, download it.

The status page follows the job live (``static/export.js`` on the user's own channel) and
works without JavaScript too (it shows the state at load time). The download streams the
file chunk by chunk, and only for the user who asked.
"""

from __future__ import annotations

import typing as t

from erlen import Blueprint
from erlen import jsonify
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import Response
from erlen import stream_with_context
from erlen import url_for
from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.typing import ResponseReturnValue

from .. import events
from ..extensions import db
from ..extensions import jobs
from ..models import Export
from ..models import User
from ..services import export_files
from ..services import exports
from ..services import rooms

bp = Blueprint("exports", __name__)

MIMETYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.before_request
@login_required
def _signed_in_only() -> None:
    """Exports belong to accounts."""


def _me() -> User:
    return t.cast(User, current_user._get_current_object())


def _status(export: Export) -> dict[str, t.Any]:
    state = jobs.job_state(export.job_id) if export.job_id else None
    return {
        "id": export.id,
        "format": export.format,
        "status": export.status,
        "rows": export.rows,
        "job": state,
        "download_url": url_for("exports.download", export_id=export.id),
        "expires_at": export.expires_at.isoformat(),
    }


@bp.post("/rooms/<slug:slug>/exports")
def create(slug: str) -> ResponseReturnValue:
    room = rooms.get_room(session=db.session, slug=slug, user=_me())
    export = exports.request_export(
        session=db.session, room=room, user=_me(), fmt=request.form.get("format", "")
    )
    return redirect(url_for("exports.show", export_id=export.id))


@bp.get("/exports/<export_id>")
def show(export_id: str) -> ResponseReturnValue:
    export = exports.get_export(session=db.session, export_id=export_id, user=_me())
    status = _status(export)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(status)
    return render_template(
        "exports/show.html",
        export=export,
        status=status,
        channel=events.user_channel(export.user_id),
    )


@bp.post("/exports/<export_id>/cancel")
def cancel(export_id: str) -> ResponseReturnValue:
    export = exports.get_export(session=db.session, export_id=export_id, user=_me())
    exports.cancel(session=db.session, export=export)
    return redirect(url_for("exports.show", export_id=export.id))


@bp.get("/exports/<export_id>/download")
def download(export_id: str) -> ResponseReturnValue:
    export = exports.get_export(session=db.session, export_id=export_id, user=_me())
    body = export_files.chunks(session=db.session, export=export)
    filename = f"room-{export.room_id}-{export.created_at:%Y%m%d-%H%M%S}.{export.format}"
    return Response(
        stream_with_context(body),
        mimetype=MIMETYPES[export.format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
