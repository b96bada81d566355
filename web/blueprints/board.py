"""The board page: the HTML face of the app, with a plain form that works without JS."""

from __future__ import annotations

from erlen import Blueprint
from erlen import redirect
from erlen import render_template
from erlen import request
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


@bp.get("/")
def index() -> str:
    return _page()


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
