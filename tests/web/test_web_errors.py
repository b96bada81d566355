"""One error vocabulary: RFC 9457 problems under /api and for JSON clients, the error page for
browsers, all through ``erlen.ext.problems``."""

from __future__ import annotations

import typing as t

import pytest
from erlen import Erlen
from erlen.testing import FlaskClient
from werkzeug.test import TestResponse

from web.errors import NotFoundError
from web.errors import ValidationError

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def assert_problem(
    response: TestResponse, status: int, detail: str | None = None
) -> dict[str, t.Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert isinstance(body, dict)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert (body["type"], body["status"]) == ("about:blank", status)
    if detail is not None:
        assert body["detail"] == detail
    return body


def assert_error_page(response: TestResponse, status: int, *fragments: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Back to the board" in page  # the starter's own error.html
    for fragment in fragments:
        assert fragment in page


@pytest.fixture
def pages(app: Erlen) -> Erlen:
    """The app with two pages that raise the app's own errors, as a service would."""

    @app.get("/broken-page")
    def broken_page() -> str:
        raise ValidationError("That name is <taken>.")

    @app.get("/missing-page")
    def missing_page() -> str:
        raise NotFoundError("There is no such page.")

    return app


# -- under the API prefix ----------------------------------------------------------------------


def test_a_csrf_failure_under_the_api_is_a_problem(app: Erlen) -> None:
    response = app.test_client().post("/api/messages", json={"body": "forged"}, headers=BROWSER)
    assert_problem(response, 400, "The CSRF token is missing.")


def test_an_unauthenticated_api_call_is_a_401_problem(client: FlaskClient) -> None:
    response = client.post("/logout", headers={"Accept": "application/json"})
    assert_problem(response, 401, "You must log in to access this resource.")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_message_is_a_404_problem(client: FlaskClient) -> None:
    body = assert_problem(client.get("/api/messages/999"), 404, "There is no message 999.")
    assert (body["title"], body["instance"]) == ("Not Found", "/api/messages/999")


def test_an_unknown_api_url_is_a_404_problem(client: FlaskClient) -> None:
    assert_problem(client.get("/api/nothing/here", headers=BROWSER), 404)


def test_a_validation_error_is_a_422_problem(client: FlaskClient) -> None:
    response = client.post("/api/messages", json={"body": ""})
    body = assert_problem(response, 422, "A message needs some text.")
    assert body["title"] == "Unprocessable Entity"


def test_a_wrong_method_is_a_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/messages")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_oversize_body_is_a_413_problem(client: FlaskClient) -> None:
    response = client.post(
        "/api/messages", data=b"x" * (2 * 1024 * 1024), content_type="application/json"
    )
    assert_problem(response, 413)


def test_too_many_logins_from_an_api_client_are_a_429_problem(app: Erlen) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for _ in range(11):
        response = client.post(
            "/login",
            data={"csrf_token": token, "username": "nobody", "password": "wrong"},
            headers={"Accept": "application/json"},
        )
    body = assert_problem(response, 429)
    assert body["retry_after"] == int(response.headers["Retry-After"]) > 0


def test_an_unhandled_error_is_a_500_problem_that_reveals_nothing(app: Erlen) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/crash")
    def crash() -> str:
        raise RuntimeError("database password is hunter2")

    response = app.test_client().get("/api/crash")
    assert_problem(response, 500)
    assert "hunter2" not in response.get_data(as_text=True)


# -- on browser paths ------------------------------------------------------------------------


def test_a_csrf_failure_on_a_page_is_the_error_page(app: Erlen) -> None:
    response = app.test_client().post("/messages", data={"body": "forged"}, headers=BROWSER)
    assert_error_page(response, 400, "The CSRF token is missing.", "reload the page")


def test_an_unauthenticated_browser_is_sent_to_log_in(client: FlaskClient) -> None:
    response = client.post("/logout", headers=BROWSER)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_an_unknown_page_is_the_404_error_page(client: FlaskClient) -> None:
    assert_error_page(client.get("/nothing/here", headers=BROWSER), 404, "404 Not Found")


def test_the_apps_own_errors_on_a_page_are_the_error_page(pages: Erlen) -> None:
    client = pages.test_client()
    response = client.get("/broken-page", headers=BROWSER)
    assert_error_page(response, 422, "That name is &lt;taken&gt;.")
    assert_error_page(client.get("/missing-page", headers=BROWSER), 404, "There is no such page.")


def test_the_apps_own_errors_answer_json_clients_with_problems(pages: Erlen) -> None:
    response = pages.test_client().get("/broken-page", headers={"Accept": "application/json"})
    assert_problem(response, 422, "That name is <taken>.")


def test_an_unhandled_error_on_a_page_is_the_500_error_page(app: Erlen) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError("database password is hunter2")

    response = app.test_client().get("/crash", headers=BROWSER)
    assert_error_page(response, 500, "Internal Server Error")
    assert "hunter2" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/readyz", "/static/style.css"])
def test_a_refused_host_gets_the_styled_400_page_not_a_500(
    app: Erlen, client: FlaskClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The error page links its stylesheet with url_for; with the Host refused that must
    # still build a path, not fail into a 500.
    app.config["TRUSTED_HOSTS"] = ["board.example"]
    response = client.get(path, "http://evil.example/", headers=BROWSER)
    assert_error_page(response, 400, "is not trusted")
    assert 'href="/static/style.css' in response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info]
