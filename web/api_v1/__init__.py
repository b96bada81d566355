"""REST API v1 (``/api/v1``) on :mod:`erlen.ext.rest`: typed resources over the same services
as the HTML views, problem+json errors, an OpenAPI 3.1 document at ``/api/v1/openapi.json``
and its docs page at ``/api/v1/docs``.

Each resource family lives in a module of its own and registers itself on :data:`api` (from
:mod:`.base`) when imported; :func:`init_api` binds them all to the app.
"""

from __future__ import annotations

from erlen import Erlen

from . import account as account
from . import rooms as rooms
from .base import api as api


def init_api(app: Erlen) -> None:
    """Register every v1 resource on ``app``."""
    api.init_app(app)
