"""The JSON API for messages; a client that missed websocket events catches up here."""

from __future__ import annotations

from erlen import Blueprint
from erlen import jsonify
from erlen import request
from erlen import url_for
from erlen.realtime import BrokerError
from erlen.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import ServiceUnavailable

from .. import events
from ..errors import ValidationError
from ..extensions import db
from ..extensions import publisher
from ..models.base import INTEGER_MAX
from ..services import board
from ..services import messages
from ..visitors import current_author

bp = Blueprint("api", __name__, url_prefix="/api")


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        shown = repr(raw) if len(raw) <= 40 else f"{raw[:40]!r}..."
        # Digits past the interpreter's limit (4,300) are a number too, just far too big.
        if raw.strip().lstrip("+-").isdecimal():
            raise ValidationError(f"{name} is out of range, got {shown}.", field=name) from None
        raise ValidationError(f"{name} must be an integer, got {shown}.", field=name) from None


@bp.get("/messages")
def list_messages() -> ResponseReturnValue:
    limit = _int_arg("limit", 50)
    before = _int_arg("before", None)
    assert limit is not None  # it has a default
    found = messages.list_messages(session=db.session, limit=limit, before_id=before)
    return jsonify(messages=[events.message_payload(m) for m in found])


# An id past the column's range matches no route: 404, like any id that names no message.
@bp.get(f"/messages/<int(max={INTEGER_MAX}):message_id>")
def get_message(message_id: int) -> ResponseReturnValue:
    return events.message_payload(messages.get_message(session=db.session, message_id=message_id))


@bp.post("/messages")
def create_message() -> ResponseReturnValue:
    data = request.get_json()
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        raise BadRequest('Send a JSON object like {"body": "some text"}.')
    message = board.post_message(session=db.session, author=current_author(), body=data["body"])
    response = jsonify(events.message_payload(message))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_message", message_id=message.id)
    return response


@bp.get("/board/presence")
def board_presence() -> ResponseReturnValue:
    """Who has the board open now, across realtime replicas (names as the page shows them)."""
    try:
        members = publisher.presence(events.BOARD_CHANNEL)
    except BrokerError:
        raise ServiceUnavailable("Who is here can't be told right now; try again.") from None
    return jsonify(members=members)
