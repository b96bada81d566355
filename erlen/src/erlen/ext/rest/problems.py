"""RFC 9457 problem details: the error body of every API response that isn't a success.

A problem is a JSON object sent as ``application/problem+json`` with the members ``type``,
``title``, ``status``, ``detail`` and ``instance``; a request that fails validation adds
``errors``, one entry per field (``loc``, ``msg``, ``type``). The responses are built by
:mod:`erlen.ext.problems`, which every extension shares; the models here describe them in
the OpenAPI document.
"""

from __future__ import annotations

import typing as t

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from werkzeug.exceptions import UnprocessableEntity

from ..problems import APIAwareHTTPException
from ..problems import PROBLEM_MIMETYPE as PROBLEM_MIMETYPE
from ..problems import problem_response as problem_response
from ..problems import status_title as status_title


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


class RequestValidationError(APIAwareHTTPException, UnprocessableEntity):
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

    def problem_extensions(self) -> dict[str, t.Any]:
        """The field errors, as the problem's ``errors`` member."""
        return {"errors": self.errors}
