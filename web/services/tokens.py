"""API tokens: the database behind erlen.ext.login's :class:`~erlen.ext.login.TokenStore`,
and what the pages and the API do with tokens.

A token is shown once, when it is made; only its hash is kept. Revoking one, or deactivating
its user, stops it at once.
"""

from __future__ import annotations

from datetime import datetime
from datetime import UTC

from erlen.ext.login import issue_token
from erlen.ext.login import revoke_token
from erlen.ext.login import TokenRecord
from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import select
from sqlalchemy import update

from ..errors import NotFoundError
from ..errors import ValidationError
from ..models import ApiToken
from ..models import User
from ..models.token import NAME_MAX
from .text import check_text

#: Live tokens a user may have at once.
MAX_TOKENS = 20


def _record(row: ApiToken) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        user_id=str(row.user_id),
        name=row.name,
        secret_hash=row.secret_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlTokenStore:
    """Token records in the ``api_tokens`` table, through the app's ``db.session``."""

    def __init__(self, session: SessionLike) -> None:
        self.session = session

    def add(self, record: TokenRecord) -> None:
        self.session.add(
            ApiToken(
                id=record.id,
                user_id=int(record.user_id),
                name=record.name,
                secret_hash=record.secret_hash,
                created_at=record.created_at,
                expires_at=record.expires_at,
            )
        )
        self.session.commit()

    def get(self, token_id: str) -> TokenRecord | None:
        row = self.session.get(ApiToken, token_id)
        return _record(row) if row is not None else None

    def revoke(self, token_id: str, when: datetime) -> bool:
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        self.session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def list_for_user(self, user_id: str) -> list[TokenRecord]:
        rows = self.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == int(user_id))
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
        return [_record(row) for row in rows]


def live_tokens(*, session: SessionLike, user: User) -> list[TokenRecord]:
    """The user's tokens that still work, newest first."""
    return [r for r in SqlTokenStore(session).list_for_user(str(user.id)) if r.is_usable()]


def create_token(*, session: SessionLike, user: User, name: str) -> tuple[str, TokenRecord]:
    """Make a token for the user; return its plaintext (show it once) and its record.

    :raises ValidationError: an empty or over-long name, or too many live tokens.
    """
    name = check_text(name, field="name").strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationError(f"A token's name is 1 to {NAME_MAX} characters.", field="name")
    if len(live_tokens(session=session, user=user)) >= MAX_TOKENS:
        raise ValidationError(
            f"You have {MAX_TOKENS} tokens already; revoke one first.", field="name"
        )
    return issue_token(user.id, name, store=SqlTokenStore(session))


def revoke(*, session: SessionLike, user: User, token_id: str) -> None:
    """Revoke one of the user's tokens.

    :raises NotFoundError: the user has no live token with that id.
    """
    row = session.get(ApiToken, token_id) if len(token_id) <= 16 else None
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFoundError(f"You have no token {token_id}.")
    revoke_token(token_id, store=SqlTokenStore(session))


def revoke_all(*, session: SessionLike, user_id: int) -> int:
    """Revoke every live token of a user (a deactivated account); returns how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
