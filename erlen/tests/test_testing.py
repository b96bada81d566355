"""The test client, environ builder and CLI runner in ``erlen.testing``."""

from __future__ import annotations

import importlib.metadata

import click
import pytest
from werkzeug.test import EnvironBuilder as WerkzeugEnvironBuilder
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse

import erlen
from erlen import Erlen
from erlen import g
from erlen import request
from erlen import session
from erlen.cli import ScriptInfo
from erlen.globals import _cv_request
from erlen.testing import EnvironBuilder
from erlen.testing import ErlenClient
from erlen.testing import ErlenCliRunner
from erlen.testing import FlaskClient
from erlen.testing import FlaskCliRunner


@pytest.fixture
def app() -> Erlen:
    app = Erlen("testing_app")
    app.config.update(TESTING=True, SECRET_KEY="for tests only")

    @app.route("/url")
    def url() -> str:
        return request.url

    @app.route("/who")
    def who() -> str:
        g.seen = "yes"
        return f"{request.remote_addr} {request.user_agent.string}"

    return app


@pytest.fixture
def client(app: Erlen) -> FlaskClient:
    return app.test_client()


# --- EnvironBuilder ---------------------------------------------------------------------------


def test_builder_base_url_comes_from_server_name_root_and_scheme(app: Erlen) -> None:
    app.config.update(
        SERVER_NAME="example.org:8080", APPLICATION_ROOT="/shop", PREFERRED_URL_SCHEME="https"
    )

    builder = EnvironBuilder(app, "/cart?item=1")
    assert builder.base_url == "https://example.org:8080/shop/"
    assert builder.path == "/cart"
    assert builder.query_string == "item=1"

    assert EnvironBuilder(app, subdomain="api").base_url == "https://api.example.org:8080/shop/"
    assert EnvironBuilder(app, url_scheme="http").base_url == "http://example.org:8080/shop/"


def test_builder_full_url_path_overrides_host_and_scheme(app: Erlen) -> None:
    builder = EnvironBuilder(app, "https://other.test/x")

    assert (builder.url_scheme, builder.host, builder.script_root, builder.path) == (
        "https",
        "other.test",
        "",
        "/x",
    )


def test_builder_rejects_base_url_with_subdomain_or_scheme(app: Erlen) -> None:
    with pytest.raises(AssertionError, match="Cannot pass"):
        EnvironBuilder(app, base_url="http://x.test/", subdomain="a")


def test_builder_serializes_json_with_the_app_settings(app: Erlen) -> None:
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]

    builder = EnvironBuilder(app, json={"b": "\u00e9", "a": 1})

    assert builder.input_stream is not None
    assert builder.input_stream.read().decode() == '{"a": 1, "b": "\u00e9"}'
    assert builder.content_type == "application/json"


# --- the client -------------------------------------------------------------------------------


def test_client_sends_default_remote_addr_and_user_agent(client: FlaskClient) -> None:
    version = importlib.metadata.version("werkzeug")

    assert client.get("/who").text == f"127.0.0.1 Werkzeug/{version}"

    client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert client.get("/who", environ_base={"HTTP_USER_AGENT": "bot"}).text == "10.0.0.9 bot"


def test_client_request_url_uses_config_and_subdomain(app: Erlen, client: FlaskClient) -> None:
    app.config.update(SERVER_NAME="example.org", APPLICATION_ROOT="/root")
    app.subdomain_matching = True
    app.add_url_rule("/", "sub", lambda: request.url, subdomain="api")

    assert client.get("/url").text == "http://example.org/root/url"
    assert client.get("/", subdomain="api", url_scheme="https").text == (
        "https://api.example.org/root/"
    )


def test_client_opens_a_builder_an_environ_or_a_request(app: Erlen, client: FlaskClient) -> None:
    builder = EnvironBuilder(app, "/who")
    try:
        assert client.open(builder).text.startswith("127.0.0.1 ")
        # The caller's builder is copied, not changed.
        assert builder.environ_base is None

        environ = builder.get_environ()
    finally:
        builder.close()

    client.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    assert client.open(environ).text.startswith("10.1.1.1 ")

    plain = WerkzeugEnvironBuilder("/who")
    try:
        raw_request = plain.get_request()
    finally:
        plain.close()

    assert isinstance(raw_request, WerkzeugRequest)
    assert client.open(raw_request).text.startswith("10.1.1.1 ")


def test_response_json_uses_the_app_json_provider(app: Erlen, client: FlaskClient) -> None:
    @app.post("/echo")
    def echo() -> dict[str, object]:
        return {"got": request.get_json()}

    response = client.post("/echo", json={"n": 1})

    assert response.json_module is app.json  # type: ignore[comparison-overlap]
    assert response.get_json() == {"got": {"n": 1}}


def test_with_client_keeps_the_last_request_context_until_the_block_ends(
    client: FlaskClient,
) -> None:
    with client:
        client.get("/who")
        assert request.path == "/who"
        assert g.seen == "yes"

        client.get("/url")
        assert request.path == "/url"

    assert _cv_request.get(None) is None


def test_with_client_cannot_be_nested(client: FlaskClient) -> None:
    with client:
        with pytest.raises(RuntimeError, match="Cannot nest client invocations"):
            with client:
                pass


def test_followed_redirect_keeps_the_final_context(app: Erlen, client: FlaskClient) -> None:
    @app.route("/start")
    def start() -> WerkzeugResponse:
        session["visited"] = "start"
        return erlen.redirect("/who")

    with client:
        response = client.get("/start", follow_redirects=True)
        assert request.path == "/who"
        assert session["visited"] == "start"

    assert [r.status_code for r in response.history] == [302]


def test_session_transaction_changes_the_client_session(app: Erlen, client: FlaskClient) -> None:
    @app.route("/cart")
    def cart() -> str:
        return ",".join(session.get("items", []))

    with client.session_transaction() as sess:
        assert len(sess) == 0
        sess["items"] = ["tea", "milk"]

    assert client.get("/cart").text == "tea,milk"

    with client.session_transaction() as sess:
        assert sess["items"] == ["tea", "milk"]


def test_session_transaction_needs_cookies(app: Erlen) -> None:
    client = app.test_client(use_cookies=False)

    with pytest.raises(TypeError, match="Cookies are disabled"):
        with client.session_transaction():
            pass


def test_session_transaction_needs_a_session_backend(app: Erlen, client: FlaskClient) -> None:
    app.config["SECRET_KEY"] = None

    with pytest.raises(RuntimeError, match="Session backend did not open a session."):
        with client.session_transaction():
            pass


def test_session_transaction_keeps_an_outer_request_context(
    app: Erlen, client: FlaskClient
) -> None:
    with app.test_request_context("/outer"):
        with client.session_transaction() as sess:
            sess["x"] = 1
            assert request.path == "/outer"

        assert request.path == "/outer"


def test_erlen_names_are_the_flask_classes() -> None:
    assert ErlenClient is FlaskClient
    assert ErlenCliRunner is FlaskCliRunner


# --- the CLI runner ---------------------------------------------------------------------------


def test_cli_runner_invokes_app_commands_in_the_app_context(app: Erlen) -> None:
    @app.cli.command("hello")
    @click.argument("name")
    def hello(name: str) -> None:
        click.echo(f"Hello, {name} from {erlen.current_app.name}")

    runner = app.test_cli_runner()

    assert isinstance(runner, FlaskCliRunner)
    assert runner.invoke(args=["hello", "Ada"]).output == "Hello, Ada from testing_app\n"
    assert runner.invoke(hello, ["Bob"]).output == "Hello, Bob from testing_app\n"


def test_cli_runner_accepts_a_custom_script_info(app: Erlen) -> None:
    other = Erlen("other_app")

    @app.cli.command("name")
    def name() -> None:
        click.echo(erlen.current_app.name)

    result = app.test_cli_runner().invoke(name, obj=ScriptInfo(create_app=lambda: other))
    assert result.output == "other_app\n"
