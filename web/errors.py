"""The app's own exceptions, and how each becomes an HTTP response.

Every error answers through :func:`erlen.ext.problems.error_response`: RFC 9457 problem+json
under the API prefixes (``API_PREFIXES``, ``/api`` by default) and for clients that ask for
JSON, the ``error.html`` page for browsers.
"""

from __future__ import annotations

import logging
import typing as t

from erlen import Erlen
from erlen.ext.problems import error_response
from erlen.typing import ResponseReturnValue
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

#: The page browsers get for any error.
ERROR_TEMPLATE = "error.html"
#: Seconds a client is asked to wait before retrying when the database is unavailable.
DATABASE_RETRY_AFTER = 2

log = logging.getLogger(__name__)


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
    """The thing asked for does not exist (or the user may not know it does)."""

    status = 404


class ForbiddenError(AppError):
    """The user may see the thing but not do this to it (edit another's message, ...)."""

    status = 403


class ConflictError(AppError):
    """The request can't be done in the thing's current state (a taken slug, ...)."""

    status = 409


def register_error_handlers(app: Erlen) -> None:
    """Answer :class:`AppError` and every HTTP error (404, 405, 413, 429, CSRF, 401, 500, ...)
    with a problem for API clients and the error page for browsers; a database that can't
    be reached with 503 and ``Retry-After``, logged in one line without a traceback."""

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

    @app.errorhandler(sa_exc.DBAPIError)
    @app.errorhandler(sa_exc.TimeoutError)
    def handle_database_error(error: Exception) -> ResponseReturnValue:
        if not database_unavailable(error):
            raise error  # a bug (bad SQL, a constraint): the 500 with its traceback
        # The session's transaction died with its connection; the page's own lookups
        # (the signed-in user) get a fresh one.
        app.extensions["sqlalchemy"].session.rollback()
        log.warning("The database is unavailable; answered 503: %s", _first_line(error))
        return error_response(
            503,
            detail="The database is unavailable right now. Try again in a moment.",
            headers=[("Retry-After", str(DATABASE_RETRY_AFTER))],
            template=ERROR_TEMPLATE,
        )


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database can't be reached, rather than that a query is
    wrong: a connection lost or refused, an operational failure (a restart, a failover, a
    serialization conflict: all worth retrying), or no pooled connection free in time."""
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, sa_exc.OperationalError)
    return isinstance(error, sa_exc.TimeoutError)


def _first_line(error: Exception) -> str:
    orig = getattr(error, "orig", None) or error
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
