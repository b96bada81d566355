"""The database failing under a request: a lost connection is a 503 to retry, never a 500
with a traceback; one lost after the response was made leaves that response as it is.

On real Postgres, ending the request's server process from another connection
(``pg_terminate_backend``), as a restart or a failover does.
"""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from erlen import Erlen
from werkzeug.test import TestResponse

from web.extensions import db
from web.logs import RequestIdFilter

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
LOST = "terminating connection due to administrator command"


def body_of(response: TestResponse) -> t.Any:
    """The JSON body of a response that must have one."""
    body = response.json
    assert body is not None, response.data
    return body


@pytest.fixture
def app(postgres_app: Erlen, caplog: pytest.LogCaptureFixture) -> Erlen:
    """The app on Postgres as production runs it (errors answered, not raised), its log
    lines carrying the request id as the services' handler does."""
    postgres_app.testing = False
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    return postgres_app


class ConnectionKiller:
    """Ends the server process behind the request's database session, when armed: once."""

    def __init__(self, terminate: t.Callable[[int], None]) -> None:
        self.terminate = terminate
        self.armed = False

    def __call__(self) -> None:
        if self.armed:
            self.armed = False
            self.terminate(db.session.scalar(sa.text("SELECT pg_backend_pid()")))


@pytest.fixture
def kill_connection(terminate_backend: t.Callable[[int], None]) -> ConnectionKiller:
    return ConnectionKiller(terminate_backend)


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_connection_lost_mid_request_is_a_503_problem_to_retry(
    app: Erlen, kill_connection: ConnectionKiller, caplog: pytest.LogCaptureFixture
) -> None:
    app.before_request(kill_connection)
    kill_connection.armed = True
    client = app.test_client()

    response = client.get("/api/messages", headers={"X-Request-ID": "lost-mid-request"})

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert body_of(response)["detail"] == (
        "The database is unavailable right now. Try again in a moment."
    )
    assert response.headers["Retry-After"] == "2"
    (warning,) = [r for r in caplog.records if r.name == "web.errors"]
    assert warning.getMessage() == f"The database is unavailable; answered 503: {LOST}"
    assert warning.request_id == "lost-mid-request"  # type: ignore[attr-defined]
    assert _tracebacks(caplog) == []
    # The pool replaced the connection: the retry the client was asked for succeeds.
    assert client.get("/api/messages").status_code == 200


def test_a_browser_gets_the_503_page(
    app: Erlen, kill_connection: ConnectionKiller, caplog: pytest.LogCaptureFixture
) -> None:
    app.before_request(kill_connection)
    kill_connection.armed = True

    response = app.test_client().get("/", headers=BROWSER)

    assert response.status_code == 503
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "The database is unavailable right now. Try again in a moment." in page
    assert "Back to the board" in page  # the starter's error page, rendered after all
    assert _tracebacks(caplog) == []


def test_a_signed_in_user_gets_the_503_page_too(
    app: Erlen, kill_connection: ConnectionKiller, caplog: pytest.LogCaptureFixture
) -> None:
    # The page shows who is signed in: that lookup must not fail on the dead transaction.
    app.before_request(kill_connection)
    client = app.test_client()
    page = client.get("/register").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_up = client.post(
        "/register", data={"username": "ada", "password": "long enough pw", "csrf_token": token}
    )
    assert signed_up.status_code == 302
    kill_connection.armed = True

    response = client.get("/", headers=BROWSER)

    assert response.status_code == 503
    assert '<span class="who">ada</span>' in response.get_data(as_text=True)
    assert _tracebacks(caplog) == []


def test_a_connection_lost_after_the_response_leaves_the_response_as_it_was(
    app: Erlen, kill_connection: ConnectionKiller, caplog: pytest.LogCaptureFixture
) -> None:
    @app.after_request
    def lose_it(response: t.Any) -> t.Any:
        kill_connection()  # the session's rollback at teardown fails
        return response

    kill_connection.armed = True

    response = app.test_client().get("/api/messages", headers={"X-Request-ID": "lost-at-end"})

    # Before: the teardown's exception left the app after start_response, and the server
    # sent an empty 500 while the access log said 200.
    assert response.status_code == 200
    assert response.json == {"messages": []}
    lines = [(r.name, r.levelname, r.getMessage(), r.request_id) for r in caplog.records]  # type: ignore[attr-defined]
    assert ("web.access", "INFO") == lines[0][:2] and " 200 " in lines[0][2]
    assert lines[1:] == [
        (
            "erlen.ext.sqlalchemy",
            "WARNING",
            f"The database connection was lost before the session closed: {LOST}",
            "lost-at-end",
        )
    ]


def test_any_failing_teardown_is_logged_once_with_the_request_id(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    @app.teardown_appcontext
    def breaks(exc: BaseException | None) -> None:
        raise RuntimeError("clean-up failed")

    response = app.test_client().get("/api/messages", headers={"X-Request-ID": "broken-teardown"})

    assert (response.status_code, response.json) == (200, {"messages": []})
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith("Exception in teardown ")
    assert error.getMessage().endswith(".breaks; the response stands.")
    assert error.request_id == "broken-teardown"  # type: ignore[attr-defined]
    assert error.exc_info is not None and isinstance(error.exc_info[1], RuntimeError)
