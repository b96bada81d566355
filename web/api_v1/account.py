"""You: your account (``/me``) and your API tokens (``/tokens``)."""

from __future__ import annotations

from datetime import datetime

from erlen.ext.login import TokenRecord
from erlen.ext.rest import error_responses
from erlen.ext.rest import response
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from ..extensions import db
from ..models.token import NAME_MAX
from ..models.user import EMAIL_MAX
from ..services import accounts
from ..services import tokens
from .base import api
from .base import me
from .base import SignedInResource


class MeOut(BaseModel):
    id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime


class MeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=EMAIL_MAX)


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None


class TokenListOut(BaseModel):
    items: list[TokenOut]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=NAME_MAX)


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself. Shown this once: store it now.")


def me_out() -> MeOut:
    user = me()
    return MeOut(
        id=user.id,
        username=user.username,
        email=user.email,
        is_admin=user.is_admin,
        created_at=user.created_at,
    )


@api.resource("/me", endpoint="api_v1_me")
class Me(SignedInResource):
    @error_responses(401)
    def get(self) -> MeOut:
        """Your account."""
        return me_out()

    @error_responses(401)
    def patch(self, data: MeIn) -> MeOut:
        """Change your email address."""
        accounts.set_email(session=db.session, user=me(), email=data.email)
        return me_out()


@api.resource("/tokens", endpoint="api_v1_tokens")
class TokenList(SignedInResource):
    @error_responses(401)
    def get(self) -> TokenListOut:
        """Your tokens that still work (never their secrets)."""
        found = tokens.live_tokens(session=db.session, user=me())
        return TokenListOut(items=[token_out(r) for r in found])

    @response(NewTokenOut, status=201)
    @error_responses(401)
    def post(self, data: TokenIn) -> tuple[NewTokenOut, int, dict[str, str]]:
        """Make a token; the response is the only time its secret is shown."""
        plaintext, record = tokens.create_token(session=db.session, user=me(), name=data.name)
        created = NewTokenOut(token=plaintext, **token_out(record).model_dump())
        return created, 201, {"Cache-Control": "no-store"}


@api.resource("/tokens/<token_id>", endpoint="api_v1_token")
class TokenItem(SignedInResource):
    @response(None, status=204)
    @error_responses(401)
    def delete(self, token_id: str) -> None:
        """Revoke one of your tokens: it stops working at once."""
        tokens.revoke(session=db.session, user=me(), token_id=token_id)


def token_out(record: TokenRecord) -> TokenOut:
    return TokenOut(
        id=record.id, name=record.name, created_at=record.created_at, expires_at=record.expires_at
    )
