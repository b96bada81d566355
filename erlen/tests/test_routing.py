"""URL routing: rules, converters, methods, slashes, subdomains, hosts and URL building.

The app caches the host-dependent part of URL binding; the last part of this file checks
that a warm cache gives exactly what binding each request from scratch gives.
"""

from __future__ import annotations

import random
import typing as t
import uuid
import warnings

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.routing import BuildError
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import get_host
from werkzeug.test import create_environ
from werkzeug.test import run_wsgi_app

import erlen
from erlen import Erlen
from erlen import request
from erlen import url_for
from erlen.testing import FlaskClient

# -- registering routes --------------------------------------------------------------------


def test_route_decorator_registers_a_get_view(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        return "index"

    assert client.get("/").data == b"index"
    assert client.head("/").status_code == 200
    assert client.post("/").status_code == 405


def test_route_decorator_returns_the_function_unchanged(app: Erlen) -> None:
    def view() -> str:
        return "x"

    assert app.route("/")(view) is view


def test_default_endpoint_is_the_function_name(app: Erlen) -> None:
    @app.route("/")
    def home_page() -> str:
        return ""

    assert app.view_functions["home_page"] is home_page
    with app.test_request_context():
        assert url_for("home_page") == "/"


def test_explicit_endpoint_name(app: Erlen, client: FlaskClient) -> None:
    @app.route("/custom", endpoint="named")
    def view() -> str:
        return request.endpoint or ""

    assert client.get("/custom").data == b"named"
    assert "view" not in app.view_functions


def test_one_view_may_have_several_rules(app: Erlen, client: FlaskClient) -> None:
    @app.route("/a")
    @app.route("/b")
    def both() -> str:
        return request.path

    assert client.get("/a").data == b"/a"
    assert client.get("/b").data == b"/b"


def test_another_function_on_an_existing_endpoint_is_an_error(app: Erlen) -> None:
    @app.route("/one")
    def view() -> str:
        return "one"

    def other() -> str:
        return "two"

    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: view"):
        app.add_url_rule("/two", "view", other)


def test_add_url_rule_without_view_then_endpoint_decorator(app: Erlen, client: FlaskClient) -> None:
    app.add_url_rule("/late", "late")

    @app.endpoint("late")
    def late_view() -> str:
        return "bound later"

    assert client.get("/late").data == b"bound later"


def test_rule_must_start_with_a_slash(app: Erlen) -> None:
    with pytest.raises(ValueError, match="must start with a slash"):
        app.add_url_rule("no-slash", "x", lambda: "")


@pytest.mark.parametrize(
    ("shortcut", "method"),
    [("get", "GET"), ("post", "POST"), ("put", "PUT"), ("delete", "DELETE"), ("patch", "PATCH")],
)
def test_method_shortcuts_accept_only_their_method(
    app: Erlen, client: FlaskClient, shortcut: str, method: str
) -> None:
    getattr(app, shortcut)("/thing")(lambda: method)
    assert client.open("/thing", method=method).data == method.encode()
    other = "POST" if method != "POST" else "PUT"
    assert client.open("/thing", method=other).status_code == 405


def test_method_shortcut_rejects_a_methods_argument(app: Erlen) -> None:
    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        app.post("/", methods=["GET"])


def test_methods_given_as_a_string_is_an_error(app: Erlen) -> None:
    with pytest.raises(TypeError, match="Allowed methods must be a list of strings"):
        app.route("/", methods="POST")(lambda: "")


def test_methods_are_case_insensitive(app: Erlen, client: FlaskClient) -> None:
    app.route("/", methods=["post", "Put"])(lambda: request.method)
    assert client.post("/").data == b"POST"
    assert client.put("/").data == b"PUT"


def test_view_function_methods_attribute_is_used(app: Erlen, client: FlaskClient) -> None:
    def view() -> str:
        return request.method

    view.methods = ["DELETE"]  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    assert client.delete("/").data == b"DELETE"
    assert client.get("/").status_code == 405


def test_view_function_required_methods_are_added(app: Erlen, client: FlaskClient) -> None:
    def view() -> str:
        return request.method

    view.required_methods = ["PATCH"]  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    assert client.get("/").data == b"GET"
    assert client.patch("/").data == b"PATCH"


def test_route_options_go_to_the_werkzeug_rule(app: Erlen, client: FlaskClient) -> None:
    @app.route("/page/", defaults={"number": 1})
    @app.route("/page/<int:number>")
    def page(number: int) -> str:
        return f"page {number}"

    assert client.get("/page/").data == b"page 1"
    assert client.get("/page/7").data == b"page 7"
    with app.test_request_context():
        assert url_for("page", number=1) == "/page/"
        assert url_for("page", number=2) == "/page/2"


def test_setup_after_the_first_request_is_an_error(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "")
    client.get("/")
    with pytest.raises(AssertionError, match="can no longer be called on the application"):
        app.route("/late")(lambda: "")
    with pytest.raises(AssertionError, match="'before_request'"):
        app.before_request(lambda: None)


# -- converters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "expected"),
    [
        ("/<value>", "/text", "'text'"),
        ("/<string:value>", "/text", "'text'"),
        ("/<int:value>", "/42", "42"),
        ("/<float:value>", "/1.5", "1.5"),
        ("/<path:value>", "/a/b/c", "'a/b/c'"),
        ("/<any(red, blue):value>", "/blue", "'blue'"),
        (
            "/<uuid:value>",
            "/12345678-1234-5678-1234-567812345678",
            "UUID('12345678-1234-5678-1234-567812345678')",
        ),
    ],
)
def test_builtin_converters_pass_typed_values(
    app: Erlen, client: FlaskClient, rule: str, path: str, expected: str
) -> None:
    app.add_url_rule(rule, "view", lambda value: repr(value))
    assert client.get(path).data == expected.encode()


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("/<int:value>", "/abc"),
        ("/<int:value>", "/-1"),
        ("/<float:value>", "/1"),
        ("/<any(red, blue):value>", "/green"),
        ("/<uuid:value>", "/not-a-uuid"),
        ("/<value>", "/a/b"),
    ],
)
def test_values_a_converter_rejects_give_404(
    app: Erlen, client: FlaskClient, rule: str, path: str
) -> None:
    app.add_url_rule(rule, "view", lambda value: "matched")
    assert client.get(path).status_code == 404


def test_converter_arguments(app: Erlen, client: FlaskClient) -> None:
    app.add_url_rule("/<int(min=1, max=9):n>", "digit", lambda n: str(n))
    app.add_url_rule("/code/<string(length=3):code>", "code", lambda code: code)
    assert client.get("/5").data == b"5"
    assert client.get("/10").status_code == 404
    assert client.get("/code/abc").data == b"abc"
    assert client.get("/code/abcd").status_code == 404


class ListConverter(BaseConverter):
    """Matches ``a,b,c`` as a list and builds it back."""

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: list[str]) -> str:
        return ",".join(BaseConverter.to_url(self, item) for item in value)


def test_custom_converter_matches_and_builds(app: Erlen, client: FlaskClient) -> None:
    app.url_map.converters["list"] = ListConverter

    @app.route("/tags/<list:tags>")
    def tags(tags: list[str]) -> str:
        return "|".join(tags) + " " + url_for("tags", tags=tags[::-1])

    assert client.get("/tags/a,b,c").data == b"a|b|c /tags/c,b,a"


def test_custom_converter_may_read_the_session(app: Erlen, client: FlaskClient) -> None:
    # Converters run while matching, which happens with the request context pushed.
    class SessionUserConverter(BaseConverter):
        def to_python(self, value: str) -> str:
            return f"{value} (user {erlen.session.get('user', 'anonymous')})"

    app.url_map.converters["suser"] = SessionUserConverter

    @app.route("/login")
    def login() -> str:
        erlen.session["user"] = "ada"
        return ""

    @app.route("/who/<suser:name>")
    def who(name: str) -> str:
        return name

    assert client.get("/who/x").data == b"x (user anonymous)"
    client.get("/login")
    assert client.get("/who/x").data == b"x (user ada)"


def test_converter_validation_error_gives_404(app: Erlen, client: FlaskClient) -> None:
    from werkzeug.routing import ValidationError

    class EvenConverter(BaseConverter):
        regex = r"\d+"

        def to_python(self, value: str) -> int:
            number = int(value)
            if number % 2:
                raise ValidationError()
            return number

    app.url_map.converters["even"] = EvenConverter
    app.add_url_rule("/<even:n>", "even", lambda n: str(n))
    assert client.get("/4").data == b"4"
    assert client.get("/5").status_code == 404


def test_uuid_view_arg_is_a_uuid(app: Erlen, client: FlaskClient) -> None:
    seen: list[object] = []

    @app.route("/<uuid:id>")
    def item(id: uuid.UUID) -> str:
        seen.append(id)
        return "ok"

    value = uuid.uuid4()
    client.get(f"/{value}")
    assert seen == [value]


# -- methods, automatic OPTIONS, 405 -------------------------------------------------------


def test_automatic_options_lists_the_allowed_methods(app: Erlen, client: FlaskClient) -> None:
    app.route("/", methods=["GET", "POST"])(lambda: "")
    response = client.options("/")
    assert response.status_code == 200
    assert response.data == b""
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_automatic_options_merges_methods_of_all_rules_for_the_url(
    app: Erlen, client: FlaskClient
) -> None:
    app.route("/", methods=["GET"])(lambda: "")
    app.add_url_rule("/", "delete", lambda: "", methods=["DELETE"])
    assert set(client.options("/").allow) == {"GET", "HEAD", "DELETE", "OPTIONS"}


def test_automatic_options_does_not_call_the_view(app: Erlen, client: FlaskClient) -> None:
    calls: list[str] = []

    @app.route("/")
    def view() -> str:
        calls.append("view")
        return ""

    client.options("/")
    assert calls == []


def test_explicit_options_calls_the_view(app: Erlen, client: FlaskClient) -> None:
    app.route("/", methods=["GET", "OPTIONS"])(lambda: "my options")
    assert client.options("/").data == b"my options"


def test_provide_automatic_options_false_on_the_rule(app: Erlen, client: FlaskClient) -> None:
    app.add_url_rule("/", "x", lambda: "", provide_automatic_options=False)
    assert client.options("/").status_code == 405


def test_provide_automatic_options_attribute_on_the_view(app: Erlen, client: FlaskClient) -> None:
    def view() -> str:
        return ""

    view.provide_automatic_options = False  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    assert client.options("/").status_code == 405


def test_provide_automatic_options_config_off(app: Erlen, client: FlaskClient) -> None:
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.route("/")(lambda: "")
    response = client.options("/")
    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD"}


def test_wrong_method_is_405_with_allow(app: Erlen, client: FlaskClient) -> None:
    app.route("/", methods=["POST", "PUT"])(lambda: "")
    response = client.get("/")
    assert response.status_code == 405
    assert set(response.allow) == {"POST", "PUT", "OPTIONS"}


def test_head_is_answered_by_the_get_view_without_a_body(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: f"method was {request.method}")
    response = client.head("/")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == str(len("method was HEAD"))


def test_unknown_url_is_404(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "")
    assert client.get("/missing").status_code == 404


# -- strict slashes ------------------------------------------------------------------------


def test_missing_trailing_slash_redirects_permanently(app: Erlen, client: FlaskClient) -> None:
    app.route("/folder/")(lambda: "folder")
    response = client.get("/folder")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/folder/"
    assert client.get("/folder", follow_redirects=True).data == b"folder"


def test_redirect_keeps_the_query_string(app: Erlen, client: FlaskClient) -> None:
    app.route("/folder/")(lambda: "folder")
    assert client.get("/folder?a=1&b=2").headers["Location"].endswith("/folder/?a=1&b=2")


def test_extra_trailing_slash_on_a_leaf_is_404(app: Erlen, client: FlaskClient) -> None:
    app.route("/file")(lambda: "file")
    assert client.get("/file/").status_code == 404


def test_strict_slashes_off_matches_both(app: Erlen, client: FlaskClient) -> None:
    app.route("/loose/", strict_slashes=False)(lambda: "loose")
    assert client.get("/loose").data == b"loose"
    assert client.get("/loose/").data == b"loose"


def test_slash_redirect_of_a_post_keeps_the_method(app: Erlen, client: FlaskClient) -> None:
    app.route("/form/", methods=["POST"])(lambda: request.form["x"])
    response = client.post("/form", data={"x": "kept"}, follow_redirects=True)
    assert response.data == b"kept"


def test_redirect_is_not_given_to_error_handlers(app: Erlen, client: FlaskClient) -> None:
    app.route("/folder/")(lambda: "folder")
    app.register_error_handler(HTTPException, lambda e: ("handled", 500))
    assert client.get("/folder").status_code == 308


def test_merge_slashes(app: Erlen, client: FlaskClient) -> None:
    app.route("/a/b")(lambda: "ab")
    response = client.get("/a//b")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/a/b")


# -- url_for ---------------------------------------------------------------------------------


def test_url_for_is_relative_inside_a_request(app: Erlen) -> None:
    app.route("/user/<name>")(lambda name: name)
    with app.test_request_context():
        assert url_for("<lambda>", name="ada") == "/user/ada"


def test_url_for_external(app: Erlen) -> None:
    app.add_url_rule("/user/<name>", "user", lambda name: name)
    with app.test_request_context(base_url="https://example.test:8443/root"):
        assert url_for("user", name="ada", _external=True) == (
            "https://example.test:8443/root/user/ada"
        )
        assert url_for("user", name="ada") == "/root/user/ada"


def test_url_for_scheme_requires_external(app: Erlen) -> None:
    app.add_url_rule("/", "index", lambda: "")
    with app.test_request_context():
        assert url_for("index", _scheme="https") == "https://localhost/"
        assert url_for("index", _scheme="https", _external=True) == "https://localhost/"
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("index", _scheme="https", _external=False)


def test_url_for_anchor_is_quoted(app: Erlen) -> None:
    app.add_url_rule("/", "index", lambda: "")
    with app.test_request_context():
        assert url_for("index", _anchor="section 2") == "/#section%202"
        assert url_for("index", _anchor="a/b?c=d&e") == "/#a/b?c=d&e"
        assert url_for("index", _anchor="ü") == "/#%C3%BC"


def test_url_for_method_picks_the_rule(app: Erlen) -> None:
    app.add_url_rule("/read", "item", lambda: "", methods=["GET"])
    app.add_url_rule("/write", "item", methods=["POST"])
    with app.test_request_context():
        assert url_for("item", _method="GET") == "/read"
        assert url_for("item", _method="POST") == "/write"


def test_url_for_extra_values_become_the_query_string(app: Erlen) -> None:
    app.add_url_rule("/search", "search", lambda: "")
    with app.test_request_context():
        assert url_for("search", q="a b", page=2) == "/search?q=a+b&page=2"
        assert url_for("search", tag=["x", "y"]) == "/search?tag=x&tag=y"


def test_url_for_none_values_are_left_out(app: Erlen) -> None:
    app.add_url_rule("/search", "search", lambda: "")
    with app.test_request_context():
        assert url_for("search", q=None) == "/search"


def test_url_for_unknown_endpoint_raises_build_error(app: Erlen) -> None:
    with app.test_request_context(), pytest.raises(BuildError):
        url_for("nowhere")


def test_url_for_missing_value_raises_build_error(app: Erlen) -> None:
    app.add_url_rule("/user/<name>", "user", lambda name: name)
    with app.test_request_context(), pytest.raises(BuildError):
        url_for("user")


def test_url_build_error_handler_can_supply_a_url(app: Erlen) -> None:
    def fallback(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str:
        return f"/fallback/{endpoint}"

    app.url_build_error_handlers.append(fallback)
    with app.test_request_context():
        assert url_for("nowhere") == "/fallback/nowhere"


def test_url_build_error_handler_returning_none_lets_the_error_through(app: Erlen) -> None:
    app.url_build_error_handlers.append(lambda error, endpoint, values: None)  # type: ignore[arg-type, return-value]
    with app.test_request_context(), pytest.raises(BuildError):
        url_for("nowhere")


def test_url_for_relative_endpoint_at_app_level(app: Erlen) -> None:
    app.add_url_rule("/", "index", lambda: "")
    with app.test_request_context():
        assert url_for(".index") == "/"


def test_url_for_outside_a_request_needs_server_name(app: Erlen) -> None:
    app.add_url_rule("/", "index", lambda: "")
    with app.app_context():
        with pytest.raises(RuntimeError, match="without 'SERVER_NAME' configured"):
            url_for("index")


def test_url_for_outside_a_request_uses_server_name_root_and_scheme(app: Erlen) -> None:
    app.add_url_rule("/page", "page", lambda: "")
    app.config.update(
        SERVER_NAME="example.test:8080", APPLICATION_ROOT="/app", PREFERRED_URL_SCHEME="https"
    )
    with app.app_context():
        assert url_for("page") == "https://example.test:8080/app/page"
        assert url_for("page", _external=False) == "/app/page"
    assert app.url_for("page") == "https://example.test:8080/app/page"


def test_url_for_without_any_context_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        url_for("index")


def test_app_url_for_can_be_overridden(app: Erlen) -> None:
    class MyApp(Erlen):
        def url_for(self, /, endpoint: str, **kwargs: t.Any) -> str:
            return "/always-here"

    my_app = MyApp("custom")
    with my_app.test_request_context():
        assert url_for("anything") == "/always-here"


# -- url_defaults and url_value_preprocessor -----------------------------------------------


def test_url_value_preprocessor_and_url_defaults_round_trip(
    app: Erlen, client: FlaskClient
) -> None:
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        erlen.g.lang = values.pop("lang", None) if values else None

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang" in values or not erlen.g.get("lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = erlen.g.lang

    @app.route("/<lang>/")
    def index() -> str:
        return f"{erlen.g.lang} {url_for('about')}"

    @app.route("/<lang>/about")
    def about() -> str:
        return "about"

    assert client.get("/de/").data == b"de /de/about"
    assert client.get("/fr/").data == b"fr /fr/about"


def test_url_value_preprocessor_runs_before_before_request(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []

    @app.url_value_preprocessor
    def preprocess(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        order.append(f"preprocess {endpoint} {values}")

    @app.before_request
    def before() -> None:
        order.append("before")

    @app.route("/item/<int:id>")
    def item(id: int) -> str:
        order.append(f"view {id}")
        return ""

    client.get("/item/3")
    assert order == ["preprocess item {'id': 3}", "before", "view 3"]


def test_url_value_preprocessor_sees_none_when_nothing_matched(
    app: Erlen, client: FlaskClient
) -> None:
    seen: list[tuple[t.Any, t.Any]] = []
    app.url_value_preprocessor(lambda endpoint, values: seen.append((endpoint, values)))
    client.get("/no-such-page")
    assert seen == [(None, None)]


def test_url_defaults_are_not_used_for_explicit_values(app: Erlen) -> None:
    app.url_defaults(lambda endpoint, values: values.setdefault("page", 1))
    app.add_url_rule("/list/<int:page>", "list", lambda page: "")
    with app.test_request_context():
        assert url_for("list") == "/list/1"
        assert url_for("list", page=3) == "/list/3"


# -- subdomains ------------------------------------------------------------------------------


@pytest.fixture
def subdomain_app() -> Erlen:
    app = Erlen("subdomains", subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")

    @app.route("/")
    def root() -> str:
        return "root"

    @app.route("/", subdomain="api")
    def api() -> str:
        return "api"

    @app.route("/u", subdomain="<user>")
    def user(user: str) -> str:
        return f"user {user}"

    return app


def test_subdomain_rules_match_their_subdomain(subdomain_app: Erlen) -> None:
    client = subdomain_app.test_client()
    assert client.get("/", "http://example.test/").data == b"root"
    assert client.get("/", "http://api.example.test/").data == b"api"
    assert client.get("/u", "http://ada.example.test/").data == b"user ada"
    assert client.get("/u", "http://example.test/").status_code == 404


def test_url_for_subdomain_rule_is_external(subdomain_app: Erlen) -> None:
    with subdomain_app.test_request_context("/", "http://example.test/"):
        assert url_for("api") == "http://api.example.test/"
        assert url_for("user", user="bob") == "http://bob.example.test/u"
        assert url_for("root") == "/"
    with subdomain_app.test_request_context("/", "http://api.example.test/"):
        assert url_for("root") == "http://example.test/"
        assert url_for("api") == "/"


def test_server_name_port_is_part_of_matching(subdomain_app: Erlen) -> None:
    subdomain_app.config["SERVER_NAME"] = "example.test:5000"
    client = subdomain_app.test_client()
    assert client.get("/", "http://api.example.test:5000/").data == b"api"
    assert client.get("/", "https://example.test:5000/").data == b"root"


def test_https_server_name_with_default_port_matches(subdomain_app: Erlen) -> None:
    subdomain_app.config["SERVER_NAME"] = "example.test:443"
    client = subdomain_app.test_client()
    assert client.get("/", "https://api.example.test/").data == b"api"


def test_host_outside_server_name_is_404_with_a_warning(subdomain_app: Erlen) -> None:
    client = subdomain_app.test_client()
    with pytest.warns(UserWarning, match="doesn't match configured server name"):
        assert client.get("/", "http://other.test/").status_code == 404


def test_host_outside_server_name_warns_on_every_request(subdomain_app: Erlen) -> None:
    # Whether an adapter is cached must not change what a request does, warnings included.
    client = subdomain_app.test_client()
    for _ in range(3):
        with pytest.warns(UserWarning, match="doesn't match configured server name"):
            assert client.get("/", "http://other.test/").status_code == 404


def test_without_subdomain_matching_subdomain_rules_never_match(app: Erlen) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.route("/")(lambda: "default")
    app.add_url_rule("/sub", "sub", lambda: "sub", subdomain="api")
    client = app.test_client()
    assert client.get("/", "http://api.example.test/").data == b"default"
    assert client.get("/sub", "http://api.example.test/").status_code == 404
    # Any host works: only the default subdomain is ever used.
    assert client.get("/", "http://elsewhere.test/").data == b"default"


def test_default_subdomain_of_the_map(app: Erlen) -> None:
    app.url_map.default_subdomain = "www"
    app.add_url_rule("/", "www_root", lambda: "www root")
    app.add_url_rule("/", "api_root", lambda: "api root", subdomain="api")
    client = app.test_client()
    # subdomain_matching is off, so every request is on the default subdomain.
    assert client.get("/", "http://api.localhost/").data == b"www root"


# -- host matching ---------------------------------------------------------------------------


@pytest.fixture
def host_app() -> Erlen:
    app = Erlen("hosts", host_matching=True, static_host="static.test")
    app.config["TESTING"] = True
    app.add_url_rule("/", "a", lambda: "host a", host="a.test")
    app.add_url_rule("/", "b", lambda: "host b", host="b.test")
    app.add_url_rule("/", "tenant", lambda tenant: f"tenant {tenant}", host="<tenant>.shop.test")
    return app


def test_host_matching_routes_by_host(host_app: Erlen) -> None:
    client = host_app.test_client()
    assert client.get("/", "http://a.test/").data == b"host a"
    assert client.get("/", "http://b.test/").data == b"host b"
    assert client.get("/", "http://acme.shop.test/").data == b"tenant acme"
    assert client.get("/", "http://c.test/").status_code == 404


def test_host_matching_ignores_server_name(host_app: Erlen) -> None:
    host_app.config["SERVER_NAME"] = "a.test"
    client = host_app.test_client()
    assert client.get("/", "http://b.test/").data == b"host b"


def test_host_matching_url_for_builds_the_other_host(host_app: Erlen) -> None:
    with host_app.test_request_context("/", "http://a.test/"):
        assert url_for("a") == "/"
        assert url_for("b") == "http://b.test/"
        assert url_for("tenant", tenant="zed") == "http://zed.shop.test/"
        assert url_for("static", filename="x.css") == "http://static.test/static/x.css"


def test_static_host_requires_host_matching() -> None:
    with pytest.raises(AssertionError, match="Invalid static_host/host_matching combination"):
        Erlen("bad", static_host="static.test")
    with pytest.raises(AssertionError, match="Invalid static_host/host_matching combination"):
        Erlen("bad", host_matching=True)
    # Without a static folder there is no static route, so no static host is needed.
    Erlen("fine", host_matching=True, static_folder=None)


# -- the cached URL adapter: same results as binding every request from scratch -------------


def _reference_adapter(app: Erlen, environ: dict[str, t.Any]) -> MapAdapter:
    """Bind the way an uncached implementation would, for this one environ.

    Validates the host against TRUSTED_HOSTS, then binds with SERVER_NAME (not under host
    matching) and the default subdomain (when subdomain matching is off).
    """
    req = app.request_class(environ)
    if app.config["TRUSTED_HOSTS"] is not None:
        req.trusted_hosts = app.config["TRUSTED_HOSTS"]
    get_host(environ["wsgi.url_scheme"], environ.get("HTTP_HOST"), req.server, req.trusted_hosts)
    server_name = app.config["SERVER_NAME"]
    subdomain = None
    if app.url_map.host_matching:
        server_name = None
    elif not app.subdomain_matching:
        subdomain = app.url_map.default_subdomain or ""
    return app.url_map.bind_to_environ(environ, server_name=server_name, subdomain=subdomain)


def _adapter_state(adapter: MapAdapter) -> tuple[t.Any, ...]:
    return (
        adapter.server_name,
        adapter.script_name,
        adapter.subdomain,
        adapter.url_scheme,
        adapter.path_info,
        adapter.default_method,
        adapter.query_args,
        adapter.websocket,
    )


def _environs() -> list[dict[str, t.Any]]:
    """A spread of requests differing in everything binding depends on."""
    environs = []
    for base_url in (
        "http://localhost/",
        "http://example.test/",
        "https://example.test/",
        "http://api.example.test/",
        "http://api.example.test:8080/",
        "https://EXAMPLE.test:443/",
        "http://other.test/",
        "http://example.test/mount",
        "http://example.test/other-mount",
    ):
        for path in ("/", "/u", "/folder", "/ünï", "/a%2Fb"):
            for method in ("GET", "POST"):
                environs.append(
                    create_environ(path, base_url, method=method, query_string="q=1&ü=2")
                )
    ws = create_environ("/ws", "http://example.test/")
    ws.update(HTTP_UPGRADE="websocket", HTTP_CONNECTION="Upgrade")
    environs.append(ws)
    no_host = create_environ("/", "http://example.test/")
    del no_host["HTTP_HOST"]
    environs.append(no_host)
    return environs


def _make_app(subdomain_matching: bool, server_name: str | None) -> Erlen:
    app = Erlen("adapter_cache", subdomain_matching=subdomain_matching)
    app.config.update(TESTING=True, SERVER_NAME=server_name)
    app.add_url_rule("/", "root", lambda: "root")
    app.add_url_rule("/", "api", lambda: "api", subdomain="api")
    app.add_url_rule("/u", "u", lambda user: f"u {user}", subdomain="<user>")
    app.add_url_rule("/folder/", "folder", lambda: "folder")
    app.add_url_rule("/ws", "ws", lambda: "ws", websocket=True)
    return app


@pytest.mark.parametrize("subdomain_matching", [False, True])
@pytest.mark.parametrize("server_name", [None, "example.test", "example.test:8080"])
def test_warm_adapter_equals_a_fresh_binding(
    subdomain_matching: bool, server_name: str | None
) -> None:
    app = _make_app(subdomain_matching, server_name)
    environs = _environs()
    order = list(range(len(environs))) * 3
    random.Random(1234).shuffle(order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mismatched hosts, checked elsewhere
        for index in order:
            environ = dict(environs[index])
            expected = _reference_adapter(app, dict(environ))
            ctx = app.request_context(environ)
            assert ctx.url_adapter is not None
            assert _adapter_state(ctx.url_adapter) == _adapter_state(expected)
            assert ctx.request.host == get_host(
                environ["wsgi.url_scheme"], environ.get("HTTP_HOST"), ctx.request.server
            )


def _answer(app: Erlen, environ: dict[str, t.Any]) -> tuple[str, bytes, str | None]:
    app_iter, status, headers = run_wsgi_app(app, dict(environ), buffered=True)
    return status, b"".join(app_iter), dict(headers).get("Location")


@pytest.mark.parametrize("subdomain_matching", [False, True])
@pytest.mark.parametrize("server_name", [None, "example.test"])
def test_warm_app_answers_like_a_cold_app(
    subdomain_matching: bool, server_name: str | None
) -> None:
    warm = _make_app(subdomain_matching, server_name)
    environs = _environs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mismatched hosts, checked elsewhere
        for environ in environs:  # fill the cache first
            _answer(warm, environ)
        for environ in environs:
            cold = _make_app(subdomain_matching, server_name)
            assert _answer(warm, environ) == _answer(cold, environ)


def test_request_host_is_right_for_alternating_hosts(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: request.host)
    for _ in range(3):
        for host in ("a.test", "b.test:8080", "localhost"):
            assert client.get("/", f"http://{host}/").data == host.encode()


def test_url_for_follows_each_requests_scheme_and_script_name(
    app: Erlen, client: FlaskClient
) -> None:
    app.route("/here")(lambda: url_for("<lambda>", _external=True))
    for _ in range(2):
        assert client.get("/here", "http://a.test/").data == b"http://a.test/here"
        assert client.get("/here", "https://a.test/").data == b"https://a.test/here"
        assert client.get("/here", "http://a.test/mnt").data == b"http://a.test/mnt/here"


def test_scheme_behind_a_proxy_is_not_mixed_up_with_plain_http(
    app: Erlen, client: FlaskClient
) -> None:
    # Same Host and port, only wsgi.url_scheme differs (as set by a TLS-terminating proxy).
    app.route("/here")(lambda: url_for("<lambda>", _external=True))
    https = {"wsgi.url_scheme": "https"}
    for _ in range(2):
        assert client.get("/here", "http://a.test/").data == b"http://a.test/here"
        assert client.get("/here", "http://a.test/", environ_overrides=https).data == (
            b"https://a.test/here"
        )


def test_websocket_upgrade_header_alone_decides(app: Erlen, client: FlaskClient) -> None:
    # Same Connection header on both requests; only the Upgrade header differs.
    app.add_url_rule("/live", "live", lambda: "live", websocket=True)
    plain = {"HTTP_CONNECTION": "keep-alive, Upgrade"}
    upgrade = {**plain, "HTTP_UPGRADE": "websocket"}
    for _ in range(2):
        assert client.get("/live", environ_overrides=upgrade).data == b"live"
        assert client.get("/live", environ_overrides=plain).status_code == 400


def test_changing_server_name_between_requests_takes_effect(app: Erlen) -> None:
    app.route("/")(lambda: url_for("<lambda>", _external=True))
    client = app.test_client()
    assert client.get("/", "http://a.test/").data == b"http://a.test/"
    app.config["SERVER_NAME"] = "b.test"
    assert client.get("/", "http://a.test/").data == b"http://b.test/"
    app.config["SERVER_NAME"] = None
    assert client.get("/", "http://a.test/").data == b"http://a.test/"


def test_turning_subdomain_matching_on_takes_effect(app: Erlen) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.add_url_rule("/", "root", lambda: "root")
    app.add_url_rule("/", "api", lambda: "api", subdomain="api")
    client = app.test_client()
    assert client.get("/", "http://api.example.test/").data == b"root"
    app.subdomain_matching = True
    assert client.get("/", "http://api.example.test/").data == b"api"


def test_websocket_rules_match_only_upgrade_requests(app: Erlen, client: FlaskClient) -> None:
    app.add_url_rule("/live", "live", lambda: "live", websocket=True)
    upgrade = {"HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "Upgrade"}
    for _ in range(2):
        assert client.get("/live").status_code == 400
        assert client.get("/live", environ_overrides=upgrade).data == b"live"


def test_many_distinct_hosts_do_not_grow_memory_without_bound(
    app: Erlen, client: FlaskClient
) -> None:
    # The Host header is chosen by the client; per-host state must stay bounded.
    app.route("/")(lambda: request.host)

    def app_state_size() -> int:
        return sum(len(value) for value in vars(app).values() if isinstance(value, dict))

    client.get("/", "http://warmup.test/")
    before = app_state_size()
    for number in range(1000):
        host = f"h{number}.test"
        assert client.get("/", f"http://{host}/").data == host.encode()
    assert app_state_size() - before < 300


def test_many_distinct_hosts_still_route_correctly_after_the_cache_fills(
    subdomain_app: Erlen,
) -> None:
    client = subdomain_app.test_client()
    for number in range(300):
        assert client.get("/u", f"http://user{number}.example.test/").data == (
            f"user user{number}".encode()
        )
    assert client.get("/", "http://api.example.test/").data == b"api"
    assert client.get("/", "http://example.test/").data == b"root"


def test_invalid_idna_host_is_400_every_time(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "ok")
    bad_host = "a" * 64 + ".test"  # a label longer than 63 characters can't be encoded
    for _ in range(3):
        response = client.get("/", environ_overrides={"HTTP_HOST": bad_host})
        assert response.status_code == 400
    assert client.get("/").data == b"ok"


def test_url_adapter_is_none_outside_requests_without_server_name(app: Erlen) -> None:
    with app.app_context() as ctx:
        assert ctx.url_adapter is None
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context() as ctx:
        assert ctx.url_adapter is not None
        assert ctx.url_adapter.server_name == "example.test"


def test_routing_exception_is_stored_when_binding_fails(app: Erlen) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    with app.test_request_context("/", "http://evil.test/") as ctx:
        assert ctx.url_adapter is None
        assert isinstance(ctx.request.routing_exception, HTTPException)
        assert ctx.request.routing_exception.code == 400
