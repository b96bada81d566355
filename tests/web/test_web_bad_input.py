"""Bad input gets a clear 4xx with a message, never a 500, and changes nothing."""

from __future__ import annotations

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient

from web.extensions import db
from web.models import Message


def _count(app: Erlen) -> int:
    with app.app_context():
        return len(db.session.scalars(db.select(Message)).all())


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": "body=x", "content_type": "text/plain"}, 415, "application/json"),
        ({"json": ["a list"]}, 400, '{"body": "some text"}'),
        ({"json": {"body": 5}}, 400, '{"body": "some text"}'),
        ({"json": {"body": ""}}, 422, "needs some text"),
        ({"json": {"body": "x" * 501}}, 422, "at most 500 characters"),
    ],
)
def test_bad_message_posts_are_refused_with_a_reason(
    app: Erlen, client: FlaskClient, kwargs: dict[str, object], status: int, fragment: str
) -> None:
    response = client.post("/api/messages", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert fragment in response.json["detail"]
    assert _count(app) == 0


def test_oversize_body_is_413(client: FlaskClient) -> None:
    response = client.post(
        "/api/messages", data=b"x" * (2 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=abc", "limit must be an integer"),
        ("limit=1000", "between 1 and 100"),
        ("before=x", "before must be an integer"),
        ("limit=0", "between 1 and 100"),
    ],
)
def test_bad_list_arguments_are_422(client: FlaskClient, query: str, fragment: str) -> None:
    response = client.get(f"/api/messages?{query}")
    assert response.status_code == 422
    assert fragment in response.json["detail"]


def test_unknown_message_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/messages/999")
    assert response.status_code == 404
    assert response.json["detail"] == "There is no message 999."


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/messages")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
