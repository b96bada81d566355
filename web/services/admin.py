"""What admins do to accounts. Deactivating keeps the user's rows (their messages stay,
under their name) but ends every session they have, everywhere, at once."""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.login import revoke_sessions
from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import select

from ..errors import ConflictError
from ..errors import NotFoundError
from ..models import User
from ..models.base import INTEGER_MAX
from . import tokens


def list_users(*, session: SessionLike) -> list[User]:
    """Every account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def _user(session: SessionLike, user_id: int) -> User:
    user = session.get(User, user_id) if 1 <= user_id <= INTEGER_MAX else None
    if user is None:
        raise NotFoundError(f"There is no user {user_id}.")
    return user


def deactivate(*, session: SessionLike, actor: User, user_id: int) -> User:
    """Lock a user out: no new login, every session and remember cookie revoked (their open
    websockets close too, through the login extension's revocation signal), every API token
    revoked.

    :raises NotFoundError: no such user.
    :raises ConflictError: admins can't lock themselves out.
    """
    user = _user(session, user_id)
    if user.id == actor.id:
        raise ConflictError("You can't deactivate your own account.")
    if user.deactivated_at is None:
        user.deactivated_at = datetime.now(UTC)
        session.commit()
        revoke_sessions(user)
        tokens.revoke_all(session=session, user_id=user.id)
    return user


def reactivate(*, session: SessionLike, user_id: int) -> User:
    """Let a deactivated user sign in again (their old sessions stay revoked).

    :raises NotFoundError: no such user.
    """
    user = _user(session, user_id)
    user.deactivated_at = None
    session.commit()
    return user
