"""One error vocabulary: problem+json for API clients, HTML pages for browsers, one helper."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from pydantic import BaseModel
from werkzeug.exceptions import Conflict
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.test import TestResponse

import erlen
import erlen.ext.problems
from erlen.ext.csrf import CSRFProtect
from erlen.ext.login import login_required
from erlen.ext.login import LoginManager
from erlen.ext.problems import api_prefixes
from erlen.ext.problems import APIAwareHTTPException
from erlen.ext.problems import error_response
from erlen.ext.problems import is_api_request
from erlen.ext.rest import Api
from erlen.ext.rest import RequestValidationError
from erlen.ext.rest import Resource
from erlen.wrappers import Response

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PROBLEM_MEMBERS = {"type", "title", "status", "detail"}


def assert_problem(
    response: TestResponse, status: int, detail: str | None = None
) -> dict[str, t.Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert isinstance(body, dict)
    assert PROBLEM_MEMBERS <= body.keys()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    if detail is not None:
        assert body["detail"] == detail
    return body


def assert_page(response: t.Any, status: int, *fragments: str) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = t.cast(str, response.text)
    for fragment in fragments:
        assert fragment in page
    return page


# -- CSRF, login, 404 and validation: one helper builds every error -----------------------------


class ThingIn(BaseModel):
    name: str


class Things(Resource):
    def post(self, data: ThingIn) -> dict[str, str]:
        return {"name": data.name}


@pytest.fixture
def stack(app: erlen.Erlen) -> erlen.Erlen:
    """An app with CSRF, login and a REST API, answering HTTP errors with the helper."""
    CSRFProtect(app)
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: None)
    Api(app).add_resource(Things, "/things")
    app.register_error_handler(HTTPException, error_response)

    @app.get("/token")
    def token() -> str:
        return erlen.render_template_string("{{ csrf_token() }}")

    @app.post("/api/form")
    @app.post("/form")
    def form() -> str:
        return "saved"

    @app.get("/api/private")
    @app.get("/private")
    @login_required
    def private() -> str:
        return "secret"

    @app.get("/things")
    def things_page() -> str:
        raise RequestValidationError(
            [{"loc": ["form", "name"], "msg": "Field required", "type": "missing"}]
        )

    return app


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Response]:
    """Every response erlen.ext.problems builds, in order."""
    responses: list[Response] = []

    class Recorded(Response):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(*args, **kwargs)
            responses.append(self)

    monkeypatch.setattr(erlen.ext.problems, "Response", Recorded)
    return responses


def test_api_errors_are_problems_built_by_the_one_helper(
    stack: erlen.Erlen, built: list[Response]
) -> None:
    client = stack.test_client()
    token = client.get("/token").text

    csrf = client.post("/api/form", headers=BROWSER)
    unauthenticated = client.get("/api/private", headers=BROWSER)
    missing = client.get("/api/nothing", headers=BROWSER)
    invalid = client.post("/api/things", json={}, headers={"X-CSRFToken": token})

    assert assert_problem(csrf, 400, "The CSRF token is missing.")["instance"] == "/api/form"
    assert_problem(unauthenticated, 401, "You must log in to access this resource.")
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(missing, 404)
    body = assert_problem(invalid, 422)
    assert body["errors"][0]["loc"] == ["body", "name"]
    assert len(built) == 4


def test_browser_errors_are_html_pages_built_by_the_one_helper(
    stack: erlen.Erlen, built: list[Response]
) -> None:
    client = stack.test_client()
    csrf = client.post("/form", headers=BROWSER)
    unauthenticated = client.get("/private", headers=BROWSER)
    missing = client.get("/nothing", headers=BROWSER)
    invalid = client.get("/things", headers=BROWSER)

    assert_page(csrf, 400, "<h1>Bad Request</h1>", "The CSRF token is missing.", "reload the page")
    assert_page(unauthenticated, 401, "<h1>Unauthorized</h1>", "You must log in")
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    assert_page(missing, 404, "<title>404 Not Found</title>")
    assert_page(invalid, 422, "The request failed validation.")
    assert len(built) == 4


def test_api_clients_outside_the_prefix_get_problems_too(stack: erlen.Erlen) -> None:
    client = stack.test_client()
    assert_problem(client.post("/form", headers={"Accept": "application/json"}), 400)
    assert_problem(client.get("/private", headers={"X-Requested-With": "XMLHttpRequest"}), 401)
    assert_problem(client.get("/nothing", headers={"Authorization": "Bearer x"}), 404)


# -- API prefixes are configuration ------------------------------------------------------------


def test_api_prefixes_come_from_the_config(stack: erlen.Erlen) -> None:
    stack.config["API_PREFIXES"] = ("/v1", "/hooks/")
    client = stack.test_client()

    assert_problem(client.get("/v1/nothing", headers=BROWSER), 404)
    assert_problem(client.get("/hooks/nothing", headers=BROWSER), 404)
    assert_page(client.get("/v1x", headers=BROWSER), 404)
    # /api is no longer an API prefix for the negotiation (the REST Api still owns its own).
    assert_page(client.get("/private", headers=BROWSER), 401)
    assert_page(client.post("/form", headers=BROWSER), 400)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (None, ("/api",)),
        (("/api/", "/v2"), ("/api", "/v2")),
        ("/v1", ("/v1",)),
        (["/"], ("",)),
        ((), ()),
    ],
)
def test_api_prefixes_are_normalised(
    app: erlen.Erlen, configured: t.Any, expected: tuple[str, ...]
) -> None:
    if configured is not None:
        app.config["API_PREFIXES"] = configured
    assert api_prefixes(app) == expected
    with app.app_context():
        assert api_prefixes() == expected


def test_without_an_app_the_default_prefix_applies() -> None:
    assert api_prefixes() == ("/api",)


@pytest.mark.parametrize(
    ("configured", "path", "expected"),
    [
        ("/v1", "/v1", True),
        ("/v1", "/v1/things", True),
        ("/v1", "/v10", False),
        ("/v1", "/api/things", False),
        ("/", "/anything", True),
        ((), "/api/things", False),
    ],
)
def test_is_api_request_follows_the_configured_prefixes(
    app: erlen.Erlen, configured: t.Any, path: str, expected: bool
) -> None:
    app.config["API_PREFIXES"] = configured
    with app.test_request_context(path, headers=BROWSER):
        assert is_api_request() is expected


def test_is_api_request_takes_prefixes_and_an_environ(app: erlen.Erlen) -> None:
    with app.test_request_context("/rpc/call", headers=BROWSER) as ctx:
        environ = ctx.request.environ
    assert is_api_request(environ, prefixes=["/rpc"]) is True
    assert is_api_request(environ, prefixes="/rpc") is True
    assert is_api_request(environ) is False


def test_outside_a_request_nobody_is_an_api_client() -> None:
    assert is_api_request() is False


# -- headers and extension members -------------------------------------------------------------


@pytest.fixture
def handled(app: erlen.Erlen) -> erlen.Erlen:
    app.register_error_handler(HTTPException, error_response)

    @app.get("/api/items")
    @app.get("/items")
    def items() -> str:
        return "items"

    @app.get("/api/slow")
    @app.get("/slow")
    def slow() -> str:
        erlen.abort(429, retry_after=30)

    @app.get("/api/escape")
    @app.get("/escape")
    def escape() -> str:
        erlen.abort(400, "<script>alert(1)</script>")

    return app


@pytest.mark.parametrize("path", ["/api/items", "/items"])
def test_405_keeps_the_allow_header(handled: erlen.Erlen, path: str) -> None:
    response = handled.test_client().delete(path, headers=BROWSER)
    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD", "OPTIONS"}


def test_429_keeps_retry_after_and_repeats_it_as_a_member(handled: erlen.Erlen) -> None:
    client = handled.test_client()
    problem = client.get("/api/slow")
    assert assert_problem(problem, 429)["retry_after"] == 30
    assert problem.headers["Retry-After"] == "30"
    page = client.get("/slow", headers=BROWSER)
    assert_page(page, 429)
    assert page.headers["Retry-After"] == "30"


def test_html_pages_escape_the_detail(handled: erlen.Erlen) -> None:
    page = assert_page(handled.test_client().get("/escape", headers=BROWSER), 400)
    assert "<script>" not in page and "&lt;script&gt;" in page
    problem = assert_problem(handled.test_client().get("/api/escape"), 400)
    assert problem["detail"] == "<script>alert(1)</script>"


def test_an_error_carrying_its_own_response_answers_with_it(handled: erlen.Erlen) -> None:
    @handled.get("/api/teapot")
    def teapot() -> str:
        erlen.abort(erlen.make_response(("teapot", 418)))

    assert handled.test_client().get("/api/teapot").data == b"teapot"


class OutOfCredit(APIAwareHTTPException):
    code = 402
    problem_type = "https://example.com/problems/out-of-credit"
    page_hint = "Top up your account."

    def problem_extensions(self) -> dict[str, t.Any]:
        return {"balance": 3}


def test_api_aware_errors_answer_through_the_helper_without_any_handler(app: erlen.Erlen) -> None:
    @app.get("/api/buy")
    @app.get("/buy")
    def buy() -> str:
        raise OutOfCredit("Your balance is 3.")

    client = app.test_client()
    problem = client.get("/api/buy")
    assert problem.mimetype == "application/problem+json"
    assert problem.json == {
        "type": "https://example.com/problems/out-of-credit",
        "title": "Payment Required",
        "status": 402,
        "detail": "Your balance is 3.",
        "instance": "/api/buy",
        "balance": 3,
    }
    assert_page(client.get("/buy", headers=BROWSER), 402, "Your balance is 3.", "Top up")


def test_api_aware_errors_render_for_a_given_environ() -> None:
    error = OutOfCredit("No.")
    assert error.get_body({"HTTP_ACCEPT": "application/json"}).startswith('{"type":')
    assert error.get_body({}).startswith("<!doctype html>")
    assert ("Content-Type", "application/problem+json") in error.get_headers(
        {"PATH_INFO": "/api/x"}
    )


# -- the app's own errors ----------------------------------------------------------------------


class OutOfStock(Exception):
    pass


def test_an_app_maps_its_own_exceptions_with_a_status(app: erlen.Erlen) -> None:
    @app.errorhandler(OutOfStock)
    def out_of_stock(e: OutOfStock) -> t.Any:
        return error_response(409, detail=str(e), headers=[("X-Stock", "0")])

    @app.get("/api/order")
    @app.get("/order")
    def order() -> str:
        raise OutOfStock("The teapot is sold out.")

    client = app.test_client()
    problem = client.get("/api/order")
    assert assert_problem(problem, 409, "The teapot is sold out.")["title"] == "Conflict"
    assert problem.headers["X-Stock"] == "0"
    assert_page(client.get("/order", headers=BROWSER), 409, "The teapot is sold out.")


def test_keyword_arguments_override_the_exception(app: erlen.Erlen) -> None:
    with app.test_request_context("/api/x"):
        response = error_response(Conflict("Old."), detail="New.", type="urn:x", extra=1)
    assert response.json == {
        "type": "urn:x",
        "title": "Conflict",
        "status": 409,
        "detail": "New.",
        "instance": "/api/x",
        "extra": 1,
    }


def test_the_choice_can_be_forced(app: erlen.Erlen) -> None:
    with app.test_request_context("/page", headers=BROWSER):
        assert error_response(NotFound(), api=True).mimetype == "application/problem+json"
    with app.test_request_context("/api/x"):
        assert error_response(NotFound(), api=False).mimetype == "text/html"


def test_unhandled_exceptions_are_500s_that_reveal_nothing(handled: erlen.Erlen) -> None:
    handled.config["PROPAGATE_EXCEPTIONS"] = False

    @handled.get("/api/crash")
    @handled.get("/crash")
    def crash() -> str:
        raise RuntimeError("database password is hunter2")

    client = handled.test_client()
    problem = client.get("/api/crash")
    assert_problem(problem, 500)
    page = client.get("/crash", headers=BROWSER)
    assert_page(page, 500, "Internal Server Error")
    assert "hunter2" not in problem.text + page.text


# -- the HTML page: built in, or the app's template --------------------------------------------


@pytest.fixture
def templated(tmp_path: Path) -> erlen.Erlen:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "error.html").write_text(
        "<h1>{{ status }} {{ title }}</h1><p>{{ detail }}</p>{{ hint or '' }}"
    )
    (tmp_path / "templates" / "broken.html").write_text("{{ missing.attribute.here }}")
    app = erlen.Erlen("templated", root_path=str(tmp_path))
    app.config.update(TESTING=True, ERROR_PAGE_TEMPLATE="error.html")
    app.register_error_handler(HTTPException, error_response)

    @app.get("/gone")
    def gone() -> str:
        erlen.abort(410, "It <was> here.")

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError("boom")

    return app


def test_the_app_template_renders_the_page(templated: erlen.Erlen) -> None:
    page = templated.test_client().get("/gone", headers=BROWSER)
    assert page.status_code == 410
    assert page.text == "<h1>410 Gone</h1><p>It &lt;was&gt; here.</p>"


def test_the_template_does_not_change_problems(templated: erlen.Erlen) -> None:
    problem = templated.test_client().get("/gone", headers={"Accept": "application/json"})
    assert_problem(problem, 410, "It <was> here.")


def test_a_template_given_to_the_helper_wins(templated: erlen.Erlen) -> None:
    templated.config["ERROR_PAGE_TEMPLATE"] = "broken.html"
    with templated.test_request_context("/gone"):
        response = error_response(410, detail="Gone.", template="error.html")
    assert response.get_data(as_text=True) == "<h1>410 Gone</h1><p>Gone.</p>"


def test_a_broken_template_never_hides_a_server_error(
    templated: erlen.Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    templated.config.update(ERROR_PAGE_TEMPLATE="broken.html", PROPAGATE_EXCEPTIONS=False)
    with caplog.at_level(logging.ERROR):
        page = templated.test_client().get("/crash", headers=BROWSER)
    assert_page(page, 500, "<h1>Internal Server Error</h1>")
    assert "broken.html" in caplog.text


def test_outside_an_app_the_built_in_page_is_used() -> None:
    page = error_response(404, detail="No.", api=False)
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "<h1>Not Found</h1>" in text and "<p>No.</p>" in text


# -- apps that opt in to nothing keep Flask's behaviour ----------------------------------------


def test_a_plain_app_keeps_werkzeugs_error_pages(app: erlen.Erlen) -> None:
    @app.get("/items")
    def items() -> str:
        return "items"

    client = app.test_client()
    for path in ("/api/nothing", "/nothing"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.mimetype == "text/html"
        assert response.text == NotFound().get_body()


@pytest.mark.parametrize("path", ["/api/echo", "/echo"], ids=["problem", "page"])
def test_a_detail_quoting_a_lone_surrogate_still_answers(app: erlen.Erlen, path: str) -> None:
    # JSON's "\ud800" escape gives a string UTF-8 can't encode; the error quoting it must
    # not fail in turn.
    @app.get("/api/echo")
    @app.get("/echo")
    def echo() -> t.Any:
        return error_response(422, detail="No such name: x\ud800y.", api=path.startswith("/api"))

    response = app.test_client().get(path)

    assert response.status_code == 422
    if path.startswith("/api"):
        assert assert_problem(response, 422)["detail"] == "No such name: x\ud800y."
    else:
        assert_page(response, 422, "No such name: x\\ud800y.")
