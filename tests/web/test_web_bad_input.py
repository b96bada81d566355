"""Bad input gets a clear 4xx with a message, never a 500, and changes nothing."""

from __future__ import annotations

import logging
import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from werkzeug.test import TestResponse

from web.errors import NotFoundError
from web.errors import ValidationError
from web.extensions import db
from web.models import Message
from web.services import messages


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


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
    response = client.post("/api/messages", **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert fragment in body_of(response)["detail"]
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
    assert fragment in body_of(response)["detail"]


def test_unknown_message_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/messages/999")
    assert response.status_code == 404
    assert body_of(response)["detail"] == "There is no message 999."


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/messages")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


# -- text a database can't store, integers past a column's range --------------------------------
# Each ran into the database and answered 500 on Postgres (SQLite stores NUL, and compares any
# integer), so each runs on both.


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert logged == [], [r.getMessage() for r in logged]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"body": "a\\u0000b"}', "body must not contain NUL characters"),
        (b'{"body": "a\\ud800b"}', "body is not valid Unicode text"),
        (b'{"body": "\\udfff"}', "the lone surrogate '\\udfff'"),
    ],
    ids=["nul", "high-surrogate", "low-surrogate"],
)
def test_api_text_the_database_cant_store_is_refused_naming_the_field(
    db_app: Erlen,
    db_client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    data: bytes,
    fragment: str,
) -> None:
    response = db_client.post("/api/messages", data=data, content_type="application/json")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert fragment in body_of(response)["detail"]
    assert [e["loc"] for e in body_of(response)["errors"]] == [["body"]]
    assert _count(db_app) == 0
    assert_no_traceback(caplog)


def test_form_text_with_nul_rerenders_the_board_saying_why(
    db_app: Erlen, db_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = db_client.post("/messages", data={"body": "a\x00b"})

    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "body must not contain NUL characters" in page
    assert 'id="post-form"' in page  # the board again, to try once more
    assert _count(db_app) == 0
    assert_no_traceback(caplog)


@pytest.mark.parametrize("form", ["/login", "/register"])
def test_a_username_with_nul_is_refused_naming_the_field(
    db_client: FlaskClient, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    response = db_client.post(form, data={"username": "ada\x00", "password": "long enough pw"})

    assert response.status_code == 422
    assert "username must not contain NUL characters" in response.get_data(as_text=True)
    assert_no_traceback(caplog)


def test_the_right_password_still_logs_in_after_a_nul_username_was_refused(
    db_app: Erlen, db_client: FlaskClient
) -> None:
    registered = db_client.post("/register", data={"username": "ada", "password": "long enough pw"})
    assert registered.status_code == 302
    client = db_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.environ_base["HTTP_X_CSRFTOKEN"] = token

    for _ in range(12):  # more than the throttle's limit: refused before it counts
        refused = client.post("/login", data={"username": "ada\x00", "password": "long enough pw"})
        assert refused.status_code == 422
    response = client.post("/login", data={"username": "ada", "password": "long enough pw"})

    assert response.status_code == 302


@pytest.mark.parametrize(
    "message_id",
    ["2147483648", "99999999999999999999999", "9" * 5000],
    ids=["int4+1", "huge", "5000-digits"],
)
def test_an_id_past_the_columns_range_is_a_404(
    db_client: FlaskClient, caplog: pytest.LogCaptureFixture, message_id: str
) -> None:
    response = db_client.get(f"/api/messages/{message_id}")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert_no_traceback(caplog)


def test_the_largest_id_the_column_holds_is_an_ordinary_404(db_client: FlaskClient) -> None:
    response = db_client.get("/api/messages/2147483647")
    assert response.status_code == 404
    assert body_of(response)["detail"] == "There is no message 2147483647."


@pytest.mark.parametrize(
    ("before", "fragment"),
    [
        ("2147483648", "before must be between 1 and 2147483647, got 2147483648."),
        ("99999999999999999999999", "before must be between 1 and 2147483647"),
        ("-1", "before must be between 1 and 2147483647, got -1."),
        ("9" * 5000, "before is out of range, got '9999"),
    ],
    ids=["int4+1", "huge", "negative", "5000-digits"],
)
def test_a_before_past_the_columns_range_is_refused_naming_it(
    db_client: FlaskClient, caplog: pytest.LogCaptureFixture, before: str, fragment: str
) -> None:
    response = db_client.get(f"/api/messages?before={before}")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert fragment in body_of(response)["detail"]
    assert len(body_of(response)["detail"]) < 200  # a 5,000-digit value is not echoed whole
    assert [e["loc"] for e in body_of(response)["errors"]] == [["before"]]
    assert_no_traceback(caplog)


def test_services_refuse_what_they_cant_store_whoever_calls(app: Erlen) -> None:
    # The worker and the realtime service call the same functions: the checks are there.
    with app.app_context():
        with pytest.raises(ValidationError, match="author must not contain NUL"):
            messages.add_message(session=db.session, author="a\x00", body="hi")
        with pytest.raises(NotFoundError):
            messages.get_message(session=db.session, message_id=2**31)
        assert messages.process_message(session=db.session, message_id=2**63) is None
