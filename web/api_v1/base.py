"""The v1 ``Api`` object and what every resource module shares."""

from __future__ import annotations

import typing as t

from erlen.ext.login import current_user
from erlen.ext.login import login_required
from erlen.ext.rest import Api
from erlen.ext.rest import Resource

from ..models import User

api = Api(
    prefix="/api/v1",
    title="erlen starter API",
    version="1.0.0",
    description="Rooms, messages, members, your account and API tokens. Authenticate with "
    "the session cookie (from the browser) or an API token: `Authorization: Bearer <token>`.",
    name="api_v1",
)


class SignedInResource(Resource):
    """A resource for signed-in users: anyone else gets a 401 problem."""

    decorators = [login_required]


def me() -> User:
    """The signed-in user (only call it from a :class:`SignedInResource`)."""
    return t.cast(User, current_user._get_current_object())
