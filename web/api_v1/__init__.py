"""REST API v1 (``/api/v1``) on :mod:`erlen.ext.rest`: typed resources over the same services
as the HTML views, problem+json errors, an OpenAPI 3.1 document at ``/api/v1/openapi.json``
and its docs page at ``/api/v1/docs``.

Each resource family lives in a module of its own and registers itself on :data:`api` when
imported; :func:`init_api` imports them all and binds the API to the app.
"""

from __future__ import annotations

from erlen import Erlen
from erlen.ext.rest import Api

api = Api(
    prefix="/api/v1",
    title="erlen starter API",
    version="1.0.0",
    description="Rooms, messages, members, your account and API tokens. Authenticate with "
    "the session cookie (from the browser) or an API token: `Authorization: Bearer <token>`.",
    name="api_v1",
)


def init_api(app: Erlen) -> None:
    """Register every v1 resource on ``app``."""
    api.init_app(app)
