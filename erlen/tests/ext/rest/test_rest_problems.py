"""Errors inside the API are RFC 9457 problems; the rest of the app keeps its HTML errors."""

from __future__ import annotations

import logging
import typing as t

import pytest
from pydantic import BaseModel
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Conflict
from werkzeug.exceptions import NotFound

import erlen
from erlen.ext.rest import Api
from erlen.ext.rest import problem_response
from erlen.ext.rest import Resource
from erlen.testing import FlaskClient


class ThingMissing(Exception):
    """A service's own "not found" error, mapped by the app."""


class Faulty(Resource):
    def get(self, what: str) -> t.Any:
        if what == "crash":
            raise RuntimeError("database password is hunter2")
        if what == "conflict":
            raise Conflict("The thing was changed by someone else.")
        if what == "missing":
            raise ThingMissing()
        if what == "custom":
            erlen.abort(erlen.make_response(("teapot", 418)))
        if what == "problem":
            return problem_response(409, detail="Taken.", type="https://example.com/taken")
        return {"what": what}


@pytest.fixture
def faulty_app(app: erlen.Erlen) -> erlen.Erlen:
    Api(app).add_resource(Faulty, "/faulty/<what>")

    @app.route("/page")
    def page() -> str:
        return "page"

    @app.route("/crash")
    def crash() -> str:
        raise RuntimeError("outside the API")

    return app


@pytest.fixture
def client(faulty_app: erlen.Erlen) -> FlaskClient:
    return faulty_app.test_client()


def test_unknown_url_under_the_prefix_is_a_404_problem(client: FlaskClient) -> None:
    rv = client.get("/api/nothing/here")
    assert rv.status_code == 404
    assert rv.mimetype == "application/problem+json"
    assert rv.get_json(force=True) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": rv.get_json(force=True)["detail"],
        "instance": "/api/nothing/here",
    }


def test_wrong_method_is_a_405_problem_that_keeps_the_allow_header(client: FlaskClient) -> None:
    rv = client.delete("/api/faulty/x")
    assert rv.status_code == 405
    assert rv.mimetype == "application/problem+json"
    assert rv.get_json(force=True)["title"] == "Method Not Allowed"
    assert set(rv.allow) == {"GET", "HEAD", "OPTIONS"}


def test_http_errors_raised_by_a_resource_keep_their_description(client: FlaskClient) -> None:
    rv = client.get("/api/faulty/conflict")
    assert rv.status_code == 409
    assert rv.get_json(force=True)["detail"] == "The thing was changed by someone else."


def test_unhandled_exception_is_a_500_problem_without_internals(
    faulty_app: erlen.Erlen, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    faulty_app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        rv = client.get("/api/faulty/crash")
    assert rv.status_code == 500
    assert rv.mimetype == "application/problem+json"
    assert rv.get_json(force=True)["title"] == "Internal Server Error"
    assert "hunter2" not in rv.get_data(as_text=True)
    assert "RuntimeError" not in rv.get_data(as_text=True)
    # The details go to the log instead.
    assert "hunter2" in caplog.text


def test_unhandled_exception_signals_got_request_exception(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    faulty_app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[BaseException] = []

    def record(sender: t.Any, exception: BaseException, **extra: t.Any) -> None:
        seen.append(exception)

    with erlen.signals.got_request_exception.connected_to(record, faulty_app):
        client.get("/api/faulty/crash")
    assert [type(e) for e in seen] == [RuntimeError]


def test_unhandled_exception_propagates_when_testing(client: FlaskClient) -> None:
    with pytest.raises(RuntimeError, match="hunter2"):
        client.get("/api/faulty/crash")


def test_routes_outside_the_api_keep_html_errors(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    faulty_app.config["PROPAGATE_EXCEPTIONS"] = False
    rv = client.get("/nothing")
    assert (rv.status_code, rv.mimetype) == (404, "text/html")
    rv = client.post("/page")
    assert (rv.status_code, rv.mimetype) == (405, "text/html")
    rv = client.get("/crash")
    assert (rv.status_code, rv.mimetype) == (500, "text/html")


def test_a_prefix_only_matches_whole_segments(client: FlaskClient) -> None:
    assert client.get("/apiary").mimetype == "text/html"


def test_app_status_handlers_do_not_replace_problems_inside_the_api(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    @faulty_app.errorhandler(404)
    def html_not_found(e: NotFound) -> tuple[str, int]:
        return "<h1>Lost?</h1>", 404

    assert client.get("/api/nothing").mimetype == "application/problem+json"
    assert client.get("/nothing").get_data(as_text=True) == "<h1>Lost?</h1>"


def test_app_handlers_for_its_own_exceptions_still_apply(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    @faulty_app.errorhandler(ThingMissing)
    def missing(e: ThingMissing) -> t.Any:
        return problem_response(404, detail="No such thing.")

    rv = client.get("/api/faulty/missing")
    assert rv.status_code == 404
    assert rv.get_json(force=True)["detail"] == "No such thing."


def test_app_handler_that_raises_an_http_error_gets_a_problem(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    @faulty_app.errorhandler(ThingMissing)
    def missing(e: ThingMissing) -> t.Any:
        raise NotFound("Mapped by the app.")

    rv = client.get("/api/faulty/missing")
    assert rv.status_code == 404
    assert rv.mimetype == "application/problem+json"
    assert rv.get_json(force=True)["detail"] == "Mapped by the app."


def test_app_catch_all_handlers_do_not_leak_into_the_api(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    faulty_app.config["PROPAGATE_EXCEPTIONS"] = False

    @faulty_app.errorhandler(Exception)
    def html_error(e: Exception) -> tuple[str, int]:
        return "<h1>Oops</h1>", 500

    rv = client.get("/api/faulty/crash")
    assert (rv.status_code, rv.mimetype) == (500, "application/problem+json")


def test_abort_with_a_response_sends_that_response(client: FlaskClient) -> None:
    rv = client.get("/api/faulty/custom")
    assert (rv.status_code, rv.data) == (418, b"teapot")


def test_before_request_errors_under_the_prefix_are_problems(
    faulty_app: erlen.Erlen, client: FlaskClient
) -> None:
    @faulty_app.before_request
    def require_token() -> None:
        if erlen.request.path.startswith("/api") and "X-Token" not in erlen.request.headers:
            erlen.abort(401, www_authenticate=WWWAuthenticate("bearer"))

    rv = client.get("/api/faulty/x")
    assert (rv.status_code, rv.mimetype) == (401, "application/problem+json")
    assert rv.headers["WWW-Authenticate"].lower() == "bearer"


def test_problem_response_carries_type_title_and_extensions(client: FlaskClient) -> None:
    rv = client.get("/api/faulty/problem")
    assert rv.status_code == 409
    assert rv.get_json(force=True) == {
        "type": "https://example.com/taken",
        "title": "Conflict",
        "status": 409,
        "detail": "Taken.",
        "instance": "/api/faulty/problem",
    }


def test_problem_response_outside_a_request_has_no_instance() -> None:
    rv = problem_response(429, detail="Slow down.", headers=[("Retry-After", "5")], limit=10)
    assert rv.headers["Retry-After"] == "5"
    assert rv.get_json(force=True) == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Slow down.",
        "limit": 10,
    }


def test_trailing_slash_redirects_are_not_turned_into_problems(app: erlen.Erlen) -> None:
    class Folder(Resource):
        def get(self) -> dict[str, str]:
            return {}

    Api(app).add_resource(Folder, "/folder/")
    rv = app.test_client().get("/api/folder")
    assert rv.status_code == 308
    assert rv.location.endswith("/api/folder/")


def test_two_apis_on_one_app_answer_their_own_errors(app: erlen.Erlen) -> None:
    class V1(Api):
        def handle_http_exception(self, e: t.Any) -> t.Any:
            return problem_response(e.code, detail="v1")

    V1(app, prefix="/api", name="v1")
    Api(app, prefix="/api/v2", name="v2")
    client = app.test_client()
    assert client.get("/api/nothing").get_json(force=True)["detail"] == "v1"
    assert client.get("/api/v2/nothing").get_json(force=True)["detail"] != "v1"


class Strict(Resource):
    def get(self) -> Strictly:
        return {"count": "not a number"}  # type: ignore[return-value]


class Strictly(BaseModel):
    count: int


def test_return_value_the_response_model_rejects_is_a_500_problem(app: erlen.Erlen) -> None:
    # A server bug, not the client's: no 422, and no validation details leak out.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    Api(app).add_resource(Strict, "/strict")
    rv = app.test_client().get("/api/strict")
    assert (rv.status_code, rv.mimetype) == (500, "application/problem+json")
    assert "not a number" not in rv.get_data(as_text=True)
