"""A small demo app for ``make dev``: a page, a form with flash messages and a JSON API.

It exercises the Flask-style API erlen provides; the full starter (web, realtime, worker)
grows out of it.
"""

from __future__ import annotations

import os
import secrets
import typing as t

from erlen import abort
from erlen import Blueprint
from erlen import Erlen
from erlen import flash
from erlen import jsonify
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import session
from erlen import url_for

api = Blueprint("api", __name__, url_prefix="/api")

NOTES: list[str] = ["Try posting a note.", "Or GET /api/notes/0."]


@api.get("/notes")
def list_notes() -> t.Any:
    return jsonify(notes=NOTES, count=len(NOTES))


@api.get("/notes/<int:index>")
def get_note(index: int) -> t.Any:
    if index >= len(NOTES):
        abort(404, description=f"There is no note {index}.")
    return {"index": index, "text": NOTES[index]}


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Erlen:
    """Build the demo app; ``config`` overrides the defaults (used by tests)."""
    app = Erlen(__name__)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if config:
        app.config.update(config)

    @app.route("/", methods=["GET", "POST"])
    def index() -> t.Any:
        if request.method == "POST":
            text = request.form.get("text", "").strip()
            if not text:
                flash("A note needs some text.", "error")
            elif len(text) > 200:
                flash("Notes are at most 200 characters.", "error")
            else:
                NOTES.append(text)
                session["posted"] = session.get("posted", 0) + 1
                flash("Note saved.", "success")
            return redirect(url_for("index"))
        return render_template("index.html", notes=NOTES, posted=session.get("posted", 0))

    app.register_blueprint(api)
    return app
