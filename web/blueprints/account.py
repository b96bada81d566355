"""The signed-in user's own pages: API tokens (create, list, revoke)."""

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
from erlen.typing import ResponseReturnValue

from ..errors import AppError
from ..extensions import db
from ..models import User
from ..models.token import NAME_MAX
from ..services import tokens

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _signed_in_only() -> None:
    """Every account page needs an account."""


def _me() -> User:
    return t.cast(User, current_user._get_current_object())


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
