"""API v1 holds to its own OpenAPI document under generated traffic (schemathesis), and
the document itself is valid OpenAPI 3.1.

Every operation is called, signed in, with examples generated from the document, valid and
invalid: no 5xx, only documented statuses and content types, bodies that match their
schemas, invalid input rejected. One check is left out: that every input the document
allows is accepted. The services apply rules JSON Schema can't state (text that is only
spaces, NUL or a lone surrogate, a slug another room has) and answer them with a documented
422 or 409. A stateful run then chains operations (create a room, post in it, edit, delete).
The example counts are bounded so the module takes seconds; raise them locally to search
harder. SQLite and the in-memory brokers, as the rest of the fast tier.
"""

from __future__ import annotations

import typing as t

import pytest
import schemathesis
from erlen import Erlen
from erlen.testing import FlaskClient
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: Every check but "schema-valid input is accepted" (see the module's docstring).
EXCLUDED: list[t.Any] = [positive_data_acceptance]

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class SignedIn(t.NamedTuple):
    """What the signed-in browser sends with every request."""

    cookies: dict[str, str]
    headers: dict[str, str]

    def prepare(self, case: schemathesis.Case[t.Any]) -> schemathesis.Case[t.Any]:
        case.cookies = {**(case.cookies or {}), **self.cookies}
        return case


@pytest.fixture
def signed_in(sign_in: t.Callable[..., FlaskClient]) -> SignedIn:
    client = sign_in("schemathesis")
    assert client.post("/api/v1/rooms", json={"name": "General"}).status_code == 201
    cookie = client.get_cookie("session")
    assert cookie is not None
    token = str(client.environ_base["HTTP_X_CSRFTOKEN"])
    return SignedIn({"session": cookie.value}, {"X-CSRFToken": token})


@pytest.fixture
def api_schema(app: Erlen) -> t.Any:
    # Unhandled exceptions must become 500 responses for schemathesis to see, not errors.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_the_document_is_valid_openapi_3_1(app: Erlen) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document is not None and document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_operation_conforms_to_the_document(api_schema: t.Any, signed_in: SignedIn) -> None:
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @BOUNDED
        def conforms(case: schemathesis.Case[t.Any]) -> None:
            signed_in.prepare(case).call_and_validate(
                headers=signed_in.headers, excluded_checks=EXCLUDED
            )

        conforms()
    assert len(labels) == 17, labels  # every operation was exercised


def test_workflows_conform_to_the_document(api_schema: t.Any, signed_in: SignedIn) -> None:
    class Workflows(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case[t.Any]) -> dict[str, t.Any]:
            signed_in.prepare(case)
            return {"headers": signed_in.headers}

        def validate_response(
            self, response: t.Any, case: schemathesis.Case[t.Any], *args: t.Any, **kwargs: t.Any
        ) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED)

    Workflows.run(settings=settings(BOUNDED, max_examples=10, stateful_step_count=6))
