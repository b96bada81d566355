"""The app's own exceptions, and how each becomes an HTTP response."""

from __future__ import annotations

import typing as t

from erlen import Erlen
from erlen import jsonify
from erlen import render_template
from erlen import request
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    """Base of the errors services raise; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(AppError):
    """Input that breaks a rule (empty, too long, ...)."""

    status = 422


class NotFoundError(AppError):
    """The thing asked for does not exist."""

    status = 404


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def register_error_handlers(app: Erlen) -> None:
    """Map :class:`AppError` and HTTP errors to JSON for API clients, HTML for browsers."""

    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> t.Any:
        if _wants_json():
            return jsonify(error=error.message), error.status
        return render_template("error.html", status=error.status, message=error.message), (
            error.status
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> t.Any:
        if error.code is None or error.code < 400:
            return error
        if _wants_json():
            response = jsonify(error=error.description, status=error.code)
            response.status_code = error.code
            for key, value in error.get_headers():
                if key.lower() != "content-type":
                    response.headers[key] = value
            return response
        return error
