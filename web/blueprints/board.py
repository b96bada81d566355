"""The board page: the HTML face of the app, with a plain form that works without JS."""

from __future__ import annotations

from pathlib import Path

from erlen import Blueprint
from erlen import current_app
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import send_file
from erlen import url_for
from erlen.typing import ResponseReturnValue

from ..errors import ValidationError
from ..extensions import db
from ..models.message import BODY_MAX
from ..services import board
from ..services import messages
from ..visitors import current_author
from ..visitors import current_visitor
from ..visitors import remember_name

bp = Blueprint("board", __name__)

#: Seconds browsers may keep the icon without asking again.
FAVICON_MAX_AGE = 24 * 3600


@bp.get("/")
def index() -> str:
    return _page()


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for /favicon.ico whatever the page says: the icon from static/, with
    ``send_file``'s conditional answers (ETag, Last-Modified: a revisit gets a 304)."""
    path = Path(current_app.static_folder or "static") / "favicon.png"
    return send_file(path, mimetype="image/png", max_age=FAVICON_MAX_AGE, conditional=True)


def _page(error: str | None = None) -> str:
    current_visitor()
    name = remember_name()
    recent = messages.list_messages(session=db.session, limit=50)
    return render_template("board.html", messages=recent, name=name, max_body=BODY_MAX, error=error)


@bp.post("/messages")
def post() -> ResponseReturnValue:
    try:
        board.post_message(
            session=db.session, author=current_author(), body=request.form.get("body", "")
        )
    except ValidationError as e:
        # The board again, saying why, as the sign-up form does: nothing was saved.
        return _page(error=e.message), 422
    return redirect(url_for("board.index"))
