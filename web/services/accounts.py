"""Registering users and checking their passwords."""

from __future__ import annotations

import re

from erlen.ext.login import hash_password
from erlen.ext.login import revoke_sessions
from erlen.ext.login import verify_and_update
from erlen.ext.login import verify_password
from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import ValidationError
from ..models.user import EMAIL_MAX
from ..models.user import User
from ..models.user import USERNAME_MAX
from .text import check_text

PASSWORD_MIN = 10
PASSWORD_MAX = 256
_USERNAME = re.compile(rf"[a-z0-9_][a-z0-9_.-]{{2,{USERNAME_MAX - 1}}}")


def normalise_username(username: str) -> str:
    """The username as stored: trimmed, lower case.

    :raises ValidationError: it holds text no account's name can (NUL, a lone surrogate).
    """
    return check_text(username, field="username").strip().lower()


def register(*, session: SessionLike, username: str, password: str) -> User:
    """Create an account.

    :raises ValidationError: a malformed or taken username, or a password out of bounds.
    """
    username = normalise_username(username)
    if not _USERNAME.fullmatch(username):
        raise ValidationError(
            f"A username is 3 to {USERNAME_MAX} letters, digits, '_', '.' or '-'.",
            field="username",
        )
    check_password(password)
    user = User(username=username, password_hash=hash_password(password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValidationError(f"The username {username!r} is taken.", field="username") from None
    return user


def check_password(password: str, *, field: str = "password") -> None:
    """:raises ValidationError: the password is too short, too long, or can't be stored."""
    check_text(password, field=field)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValidationError(
            f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters.", field=field
        )


def set_password(*, session: SessionLike, user: User, password: str) -> None:
    """Give the user a new password and end every session they have (the caller signs the
    current one in again if it should stay).

    :raises ValidationError: the password is out of bounds.
    """
    check_password(password)
    user.password_hash = hash_password(password)
    session.commit()
    revoke_sessions(user)


def change_password(*, session: SessionLike, user: User, current: str, new: str) -> None:
    """Change the password, knowing the current one; every session ends (see
    :func:`set_password`).

    :raises ValidationError: the current password is wrong, or the new one out of bounds.
    """
    if not verify_password(user.password_hash, current[:PASSWORD_MAX]):
        raise ValidationError("That is not your current password.", field="current_password")
    set_password(session=session, user=user, password=new)


def authenticate(*, session: SessionLike, username: str, password: str) -> User | None:
    """The user whose password this is, or ``None``. Upgrades an outdated hash.

    An unknown username takes as long as a wrong password, so it can't be probed.

    :raises ValidationError: the username holds text no account's name can (NUL, a lone
        surrogate); a password like that is simply wrong.
    """
    user = session.scalar(select(User).where(User.username == normalise_username(username)))

    def store(account: User, new_hash: str) -> None:
        account.password_hash = new_hash
        session.commit()

    if not verify_and_update(user, password[:PASSWORD_MAX], store):
        return None
    return user


def revoke_all_sessions(*, session: SessionLike, user: User) -> None:
    """Bump the user's session epoch: every existing session and remember cookie stops working."""
    user.session_epoch += 1
    session.commit()


#: A plausible address: something@domain.tld, no spaces (deliverability is the mail's job).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def set_email(*, session: SessionLike, user: User, email: str) -> User:
    """Set the user's email address (stored lower-case).

    :raises ValidationError: not an address, too long, or another account's.
    """
    email = check_text(email, field="email").strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        raise ValidationError(f"{email!r} is not an email address.", field="email")
    user.email = email
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValidationError("Another account uses that email address.", field="email") from None
    return user
