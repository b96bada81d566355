"""Admin views: thin over :mod:`web.services.admin` and erlen.ext.jobs' dead letters."""

from __future__ import annotations

import typing as t

from erlen import Blueprint
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.jobs import deadletters
from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.typing import ResponseReturnValue
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import NotFound

from ..extensions import db
from ..extensions import jobs
from ..models import User
from ..models.base import INTEGER_MAX
from ..services import admin

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
)

#: An id in a URL: an id past the column's range matches no route.
ID = f"int(max={INTEGER_MAX})"
#: Dead letters shown at once.
LETTERS_SHOWN = 100


@bp.before_request
@login_required
def _admins_only() -> None:
    if not current_user.is_admin:
        raise Forbidden("This page is for admins.")


def _me() -> User:
    return t.cast(User, current_user._get_current_object())


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users() -> str:
    return render_template("admin/users.html", users=admin.list_users(session=db.session))


@bp.post(f"/users/<{ID}:user_id>/deactivate")
def deactivate(user_id: int) -> ResponseReturnValue:
    user = admin.deactivate(session=db.session, actor=_me(), user_id=user_id)
    flash(f"{user.username} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.users"))


@bp.post(f"/users/<{ID}:user_id>/reactivate")
def reactivate(user_id: int) -> ResponseReturnValue:
    user = admin.reactivate(session=db.session, user_id=user_id)
    flash(f"{user.username} can sign in again.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/jobs/failed")
def failed_jobs() -> str:
    state = jobs.state()
    queue = request.args.get("queue") or None
    letters = deadletters.list_failed(state, queue, limit=LETTERS_SHOWN)
    return render_template(
        "admin/failed_jobs.html",
        letters=letters,
        queues=deadletters.failed_queues(state),
        queue=queue,
    )


@bp.post("/jobs/failed/<letter_id>/retry")
def retry_job(letter_id: str) -> ResponseReturnValue:
    state = jobs.state()
    letter = deadletters.find_failed(state, letter_id)
    if letter is None:
        raise NotFound(f"There is no failed job {letter_id}.")
    deadletters.requeue_dead_letter(state, letter)
    flash(f"Job {letter.actor_name} ({letter.message_id}) is queued again.", "success")
    return redirect(url_for("admin.failed_jobs"))


@bp.post("/jobs/failed/retry")
def retry_all_jobs() -> ResponseReturnValue:
    count = deadletters.retry_all(jobs.state(), request.form.get("queue") or None)
    flash(f"{count} failed job{'' if count == 1 else 's'} queued again.", "success")
    return redirect(url_for("admin.failed_jobs"))


@bp.post("/jobs/failed/purge")
def purge_jobs() -> ResponseReturnValue:
    count = deadletters.purge_failed(jobs.state(), request.form.get("queue") or None)
    flash(f"{count} failed job{'' if count == 1 else 's'} deleted.", "success")
    return redirect(url_for("admin.failed_jobs"))
