"""Who is asking: a browser (wants pages and redirects) or a program (wants JSON).

Shared by the extensions that answer the two differently (login's unauthorized handler,
CSRF failures, problem+json errors). Depends on werkzeug only.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

_JSON_TYPES = ("application/json", "application/problem+json")


def is_api_request(environ: WSGIEnvironment) -> bool:
    """Tell whether a request comes from a program rather than a person with a browser.

    A request is an API request when its path is under ``/api/``, when it was sent by
    ``XMLHttpRequest`` (``X-Requested-With``), when it carries a bearer token, or when its
    ``Accept`` header prefers JSON to HTML. A body sent as JSON tips the balance when the
    client accepts both equally (``fetch()`` sends ``Accept: */*``). Browsers navigating to
    a page ask for HTML first, so they keep getting pages and redirects.

    It reads the WSGI environ, so error responses can call it without a request object.
    """
    path = environ.get("PATH_INFO") or ""
    if path == "/api" or path.startswith("/api/"):
        return True
    if (environ.get("HTTP_X_REQUESTED_WITH") or "").lower() == "xmlhttprequest":
        return True
    if (environ.get("HTTP_AUTHORIZATION") or "")[:7].lower() == "bearer ":
        return True
    accept = parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept)
    json_quality = max(accept.quality(mimetype) for mimetype in _JSON_TYPES)
    html_quality = accept.quality("text/html")
    if json_quality != html_quality:
        return json_quality > html_quality
    content_type = (environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
    return json_quality > 0 and (
        content_type == "application/json" or content_type.endswith("+json")
    )
