"""The app's own exceptions, and how each becomes an HTTP response.

Every error answers through :func:`erlen.ext.problems.error_response`: RFC 9457 problem+json
under the API prefixes (``API_PREFIXES``, ``/api`` by default) and for clients that ask for
JSON, the ``error.html`` page for browsers.
"""

from __future__ import annotations

import typing as t

from erlen import Erlen
from erlen.ext.problems import error_response
from erlen.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

#: The page browsers get for any error.
ERROR_TEMPLATE = "error.html"


class AppError(Exception):
    """Base of the errors services raise; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(AppError):
    """Input that breaks a rule (empty, too long, ...).

    :param field: the input at fault, when there is one; API clients get it in the
        problem's ``errors`` member as well as in the sentence.
    """

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(AppError):
    """The thing asked for does not exist."""

    status = 404


def register_error_handlers(app: Erlen) -> None:
    """Answer :class:`AppError` and every HTTP error (404, 405, 413, 429, CSRF, 401, 500, ...)
    with a problem for API clients and the error page for browsers."""

    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> ResponseReturnValue:
        members: dict[str, t.Any] = {}
        field = getattr(error, "field", None)
        if field:
            # The shape erlen.ext.rest gives a field error (loc, msg, type).
            members["errors"] = [{"loc": [field], "msg": error.message, "type": "value_error"}]
        return error_response(
            error.status, detail=error.message, template=ERROR_TEMPLATE, **members
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> ResponseReturnValue:
        return error_response(error, template=ERROR_TEMPLATE)
