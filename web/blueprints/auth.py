"""Sign up, log in, log out (here or everywhere), reset a forgotten password. Thin views
over ``services.accounts`` and ``services.password_reset``."""

from __future__ import annotations

import typing as t

from erlen import Blueprint
from erlen import current_app
from erlen import flash
from erlen import redirect
from erlen import render_template
from erlen import request
from erlen import url_for
from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.ext.login import login_user
from erlen.ext.login import logout_user
from erlen.ext.login import safe_next_url
from erlen.typing import ResponseReturnValue

from ..errors import ValidationError
from ..extensions import db
from ..extensions import throttle
from ..models import User
from ..services import accounts
from ..services import password_reset
from ..services.text import check_text

bp = Blueprint("auth", __name__)


def _signed_in(user: User) -> None:
    # A fresh session: nothing from before the login survives (the anonymous visitor id
    # included; the board gives the session a new one).
    login_user(user)


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    if request.method == "POST":
        try:
            user = accounts.register(
                session=db.session,
                username=request.form.get("username", ""),
                password=request.form.get("password", ""),
            )
        except ValidationError as e:
            return render_template("auth.html", mode="register", error=e.message), 422
        _signed_in(user)
        flash(f"Welcome, {user.username}.", "success")
        return redirect(url_for("board.index"))
    return render_template("auth.html", mode="register")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "POST":
        try:
            username = accounts.normalise_username(request.form.get("username", ""))
        except ValidationError as e:
            # No account has such a name: nothing to count against anyone.
            return render_template("auth.html", mode="login", error=e.message), 422
        throttle.attempt(username, request.remote_addr)  # 429 with Retry-After when over
        user = accounts.authenticate(
            session=db.session, username=username, password=request.form.get("password", "")
        )
        if user is None:
            error = "Wrong username or password."
            return render_template("auth.html", mode="login", error=error), 401
        if not user.is_active:
            error = "This account is deactivated. Ask an admin to reactivate it."
            return render_template("auth.html", mode="login", error=error), 403
        throttle.succeeded(username, request.remote_addr)
        _signed_in(user)
        return redirect(safe_next_url(default=url_for("board.index")))
    return render_template("auth.html", mode="login")


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    everywhere = request.form.get("everywhere") == "1"
    logout_user(everywhere=everywhere)
    flash("Logged out everywhere." if everywhere else "Logged out.", "success")
    return redirect(url_for("board.index"))


@bp.app_context_processor
def inject_user() -> dict[str, t.Any]:
    return {"current_user": current_user}


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link. The answer is the same whether or not the address has an
    account, so nobody can find out which addresses do."""
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            check_text(email, field="email")
        except ValidationError as e:
            return render_template("password_forgot.html", error=e.message), 422
        # Counted like failed logins (per address and per client): no mail bombing.
        throttle.attempt(f"reset:{email.strip().lower()}", request.remote_addr)
        password_reset.request_reset(
            session=db.session, email=email, secret_key=current_app.config["SECRET_KEY"]
        )
        flash(
            "If an account has that address, a link to reset its password is on its way."
            " It works for 30 minutes, once.",
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("password_forgot.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    config = current_app.config
    max_age = int(config.get("PASSWORD_RESET_MAX_AGE", password_reset.DEFAULT_MAX_AGE))
    # A dead link says so before the form is filled in.
    user = password_reset.user_for_token(
        session=db.session, token=token, secret_key=config["SECRET_KEY"], max_age=max_age
    )
    if request.method == "POST":
        try:
            password_reset.reset(
                session=db.session,
                token=token,
                password=request.form.get("password", ""),
                secret_key=config["SECRET_KEY"],
                max_age=max_age,
            )
        except ValidationError as e:
            page = render_template("password_reset.html", user=user, error=e.message)
            return page, 422
        flash("Your password is changed and every session signed out. Log in again.", "success")
        return redirect(url_for("auth.login"))
    return render_template("password_reset.html", user=user)
