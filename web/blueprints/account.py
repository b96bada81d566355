"""The signed-in user's own pages: the profile (email, password) and API tokens."""

from __future__ import annotations

import typing as t

from erlen import Blueprint
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.typing import ResponseReturnValue

from .. import audit
from ..errors import AppError
from ..extensions import db
from ..models import User
from ..models.token import NAME_MAX
from ..services import accounts
from ..services import tokens

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _signed_in_only() -> None:
    """Every account page needs an account."""


def _me() -> User:
    return t.cast(User, current_user._get_current_object())


def _profile(error: AppError | None = None) -> str:
    activity = audit.recent(session=db.session, user_id=_me().id)
    return render_template("account/profile.html", error=error, activity=activity)


@bp.get("/")
def profile() -> str:
    return _profile()


@bp.post("/email")
def change_email() -> ResponseReturnValue:
    try:
        accounts.set_email(session=db.session, user=_me(), email=request.form.get("email", ""))
    except AppError as e:
        return _profile(error=e), e.status
    flash("Email address saved.", "success")
    return redirect(url_for("account.profile"))


@bp.post("/password")
def change_password() -> ResponseReturnValue:
    user = _me()
    try:
        accounts.change_password(
            session=db.session,
            user=user,
            current=request.form.get("current_password", ""),
            new=request.form.get("new_password", ""),
        )
    except AppError as e:
        return _profile(error=e), e.status
    # Every session ended with the old password; this one goes on, as a fresh login.
    login_user(user)
    flash("Password changed. Every other session is signed out.", "success")
    return redirect(url_for("account.profile"))


def _tokens_page(*, created: str | None = None, error: AppError | None = None) -> str:
    return render_template(
        "account/tokens.html",
        tokens=tokens.live_tokens(session=db.session, user=_me()),
        created=created,
        error=error,
        name_max=NAME_MAX,
    )


@bp.get("/tokens")
def token_list() -> str:
    return _tokens_page()


@bp.post("/tokens")
def create_token() -> ResponseReturnValue:
    try:
        plaintext, _ = tokens.create_token(
            session=db.session, user=_me(), name=request.form.get("name", "")
        )
    except AppError as e:
        return _tokens_page(error=e), e.status
    # Shown in this response only: it can't be recovered later. Never cached.
    response = _tokens_page(created=plaintext)
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> ResponseReturnValue:
    tokens.revoke(session=db.session, user=_me(), token_id=token_id)
    flash("Token revoked: it no longer works.", "success")
    return redirect(url_for("account.token_list"))
