"""The sample API holds to its own OpenAPI document under generated traffic (schemathesis).

Every operation is called with examples generated from the document, valid and invalid, and
each response is checked: no 5xx, statuses and content types the document lists, bodies that
match their schemas, invalid input rejected and valid input accepted. A stateful run then chains
operations (create, then fetch, change and delete what was created). The example counts are
bounded so the module finishes in seconds; raise them locally to search harder.
"""

from __future__ import annotations

import typing as t

import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from rest_sample import create_app

app = create_app()
# Unhandled exceptions must become 500 responses for schemathesis to see, not test errors.
app.config["PROPAGATE_EXCEPTIONS"] = False
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@BOUNDED
def test_every_operation_conforms_to_the_document(case: schemathesis.Case[t.Any]) -> None:
    case.call_and_validate()


class TestWorkflowsConformToTheDocument(schema.as_state_machine().TestCase):  # type: ignore[misc]
    settings = settings(BOUNDED, max_examples=15, stateful_step_count=6)
