"""RFC 9457 problem details: the error body of every API response that isn't a success.

A problem is a JSON object sent as ``application/problem+json`` with the members ``type``,
``title``, ``status``, ``detail`` and ``instance``; a request that fails validation adds
``errors``, one entry per field (``loc``, ``msg``, ``type``).
"""

from __future__ import annotations

import json
import typing as t
from http import HTTPStatus

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import UnprocessableEntity

from ...globals import _cv_request
from ...wrappers import Response

#: The media type of problem details (RFC 9457, section 3).
PROBLEM_MIMETYPE = "application/problem+json"


class FieldError(BaseModel):
    """One reason a request was rejected: where (``loc``), why (``msg``), and a stable ``type``."""

    loc: list[str | int] = Field(description="Path to the offending value, its source first.")
    msg: str = Field(description="A sentence for humans.")
    type: str = Field(description="A stable, machine-readable error code.")


class Problem(BaseModel):
    """Problem details (RFC 9457): the body of every error response."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        default="about:blank", description="A URI reference identifying the problem type."
    )
    title: str = Field(description="A short summary of the problem type.")
    status: int = Field(ge=100, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="An explanation of this occurrence.")
    instance: str | None = Field(default=None, description="The path of the request that failed.")


class ValidationProblem(Problem):
    """A problem for a request whose body, query or path failed validation."""

    model_config = ConfigDict(title="ValidationProblem")

    errors: list[FieldError] = Field(description="Every validation error, one per field.")


class RequestValidationError(UnprocessableEntity):
    """Raised when the request's data fails validation; answered with a 422 problem.

    :param errors: The field errors, as dictionaries with ``loc``, ``msg`` and ``type``.
    :param detail: The problem's ``detail`` sentence.
    """

    def __init__(
        self,
        errors: list[dict[str, t.Any]],
        detail: str = "The request failed validation.",
    ) -> None:
        super().__init__(description=detail)
        #: The field errors that are sent as the problem's ``errors`` member.
        self.errors = errors


def status_title(status: int) -> str:
    """The reason phrase for ``status`` (``"Not Found"``), used as the default title."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str = "about:blank",
    instance: str | None = None,
    headers: t.Iterable[tuple[str, str]] = (),
    **extensions: t.Any,
) -> Response:
    """Build an ``application/problem+json`` response.

    :param status: The HTTP status code, repeated in the body as ``status``.
    :param title: A short summary; defaults to the status's reason phrase.
    :param detail: An explanation specific to this occurrence.
    :param type: A URI identifying the problem type; ``about:blank`` means "see the status".
    :param instance: Identifies this occurrence; defaults to the current request's path.
    :param headers: Extra response headers, such as ``Allow`` or ``Retry-After``.
    :param extensions: Extra members, such as ``errors``.
    """
    if instance is None:
        ctx = _cv_request.get(None)
        if ctx is not None:
            instance = ctx.request.path
    body: dict[str, t.Any] = {
        "type": type,
        "title": title if title is not None else status_title(status),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str),
        status=status,
        mimetype=PROBLEM_MIMETYPE,
    )
    for name, value in headers:
        response.headers.add(name, value)
    return response


def problem_for_exception(e: HTTPException) -> Response:
    """Turn an HTTP exception into a problem response, keeping headers such as ``Allow``."""
    status = e.code or 500
    # Content-Type would describe werkzeug's HTML body, which is not what is sent.
    headers = [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]
    extensions: dict[str, t.Any] = {}
    if isinstance(e, RequestValidationError):
        extensions["errors"] = e.errors
    return problem_response(
        status,
        title=e.name if e.code else None,
        detail=e.description,
        headers=headers,
        **extensions,
    )
