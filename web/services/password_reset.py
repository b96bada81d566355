"""Password reset by email: a signed link, valid for a short time, that works once.

The link carries the user's id and a fingerprint of their current password hash, signed with
the app's secret and a timestamp. Once the password changes (by this link or any other way)
the fingerprint no longer matches, so the link is dead: single use without storing anything.
Asking for a link answers the same whether or not the address has an account, so addresses
can't be probed; the asking is rate limited by the login throttle.
"""

from __future__ import annotations

import hashlib
import typing as t

from erlen import current_app
from erlen import render_template
from erlen import url_for
from erlen.ext.sqlalchemy import SessionLike
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from ..errors import AppError
from ..extensions import outbox
from ..jobs import send_email
from ..models import User
from . import accounts

#: Seconds a reset link works.
DEFAULT_MAX_AGE = 30 * 60
_SALT = "erlen-starter.password-reset"


class InvalidResetLink(AppError):
    """The link is malformed, tampered with, expired, or already used."""

    status = 400

    def __init__(self) -> None:
        super().__init__("This password reset link is invalid, used or expired. Ask for a new one.")


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_token(user: User, *, secret_key: str) -> str:
    """A reset token for the user's current password."""
    return _serializer(secret_key).dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_token(
    *, session: SessionLike, token: str, secret_key: str, max_age: int = DEFAULT_MAX_AGE
) -> User:
    """The active user a token resets the password of.

    :raises InvalidResetLink: anything else.
    """
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except BadData:
        raise InvalidResetLink() from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or data.get("p") != _fingerprint(user):
        raise InvalidResetLink()
    return user


def request_reset(*, session: SessionLike, email: str, secret_key: str) -> None:
    """Mail a reset link to the active account with this address, if there is one.

    The mail goes through the outbox: it is sent by the worker once this commits.
    """
    address = email.strip().lower()
    user = session.scalar(select(User).where(User.email == address))
    if user is None or not user.is_active or user.email is None:
        return
    link = url_for(
        "auth.reset_password", token=make_token(user, secret_key=secret_key), _external=True
    )
    text = render_template("email/password_reset.txt", user=user, link=link)
    subject = f"Reset your {current_app.config['SITE_NAME']} password"
    outbox.send(session, send_email, user.email, subject, text)
    session.commit()


def reset(
    *, session: SessionLike, token: str, password: str, secret_key: str, max_age: int
) -> User:
    """Set a new password through a reset link; the link then stops working.

    :raises InvalidResetLink: the link is no good.
    :raises ValidationError: the new password is out of bounds.
    """
    user = user_for_token(session=session, token=token, secret_key=secret_key, max_age=max_age)
    accounts.set_password(session=session, user=user, password=password)
    return user


__all__: t.Sequence[str] = ("InvalidResetLink", "make_token", "request_reset", "reset")
