"""Blueprints: registration, nesting, prefixes and subdomains, names, static files, templates,
hooks and error handlers scoped to a blueprint, and CLI groups."""

from __future__ import annotations

import typing as t
from pathlib import Path

import click
import pytest
from werkzeug.exceptions import NotFound

import erlen
from erlen import Blueprint
from erlen import Erlen
from erlen import g
from erlen import request
from erlen import url_for
from erlen.blueprints import BlueprintSetupState
from erlen.testing import FlaskClient
from erlen.testing import FlaskCliRunner
from erlen.wrappers import Response

# -- registration, prefixes and names --------------------------------------------------------


def test_blueprint_routes_get_the_url_prefix_and_dotted_endpoints(
    app: Erlen, client: FlaskClient
) -> None:
    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.route("/items/<int:id>")
    def item(id: int) -> str:
        return f"{request.endpoint} {request.blueprint} {id}"

    app.register_blueprint(bp)
    assert client.get("/shop/items/3").data == b"shop.item shop 3"
    assert client.get("/items/3").status_code == 404
    with app.test_request_context():
        assert url_for("shop.item", id=3) == "/shop/items/3"


def test_decorators_return_the_function(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)

    def view() -> str:
        return ""

    def handler(error: Exception) -> str:
        return ""

    assert bp.route("/")(view) is view
    assert bp.get("/get")(view) is view
    assert bp.before_request(view) is view
    assert bp.errorhandler(404)(handler) is handler


def test_registration_url_prefix_overrides_the_blueprints(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/own")
    bp.route("/x")(lambda: "x")
    app.register_blueprint(bp, url_prefix="/given")
    assert client.get("/given/x").data == b"x"
    assert client.get("/own/x").status_code == 404


@pytest.mark.parametrize(
    ("prefix", "rule", "url"),
    [
        ("/p", "/", "/p/"),
        ("/p/", "/", "/p/"),
        ("/p", "/x", "/p/x"),
        ("/p/", "/x", "/p/x"),
        ("/p", "", "/p"),
        ("/", "/x", "/x"),
    ],
)
def test_prefix_and_rule_are_joined_with_one_slash(
    app: Erlen, client: FlaskClient, prefix: str, rule: str, url: str
) -> None:
    bp = Blueprint("bp", __name__, url_prefix=prefix)
    bp.add_url_rule(rule, "view", lambda: "found")
    app.register_blueprint(bp)
    assert client.get(url).data == b"found"


def test_registering_the_same_name_twice_is_an_error(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="'bp' is already registered for this blueprint"):
        app.register_blueprint(bp)
    other = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="'bp' is already registered for a different blueprint"):
        app.register_blueprint(other)


def test_name_option_registers_a_blueprint_twice(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("api", __name__)

    @bp.route("/")
    def index() -> str:
        return f"{request.blueprint} {url_for('.index')}"

    app.register_blueprint(bp, url_prefix="/v1")
    app.register_blueprint(bp, url_prefix="/v2", name="api_v2")
    assert client.get("/v1/").data == b"api /v1/"
    assert client.get("/v2/").data == b"api_v2 /v2/"
    assert list(app.blueprints) == ["api", "api_v2"]


def test_hooks_apply_to_each_registration_name(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("api", __name__)
    bp.before_request(lambda: setattr(g, "seen", request.blueprint))
    bp.route("/")(lambda: g.seen)
    app.register_blueprint(bp, url_prefix="/v1")
    app.register_blueprint(bp, url_prefix="/v2", name="api_v2")
    assert client.get("/v1/").data == b"api"
    assert client.get("/v2/").data == b"api_v2"


@pytest.mark.parametrize("name", ["", "a.b"])
def test_invalid_blueprint_names(name: str) -> None:
    with pytest.raises(ValueError, match="'name' may not"):
        Blueprint(name, __name__)


def test_endpoint_with_a_dot_is_an_error() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="'endpoint' may not contain a dot"):
        bp.add_url_rule("/", "a.b", lambda: "")


def test_view_function_name_with_a_dot_is_an_error() -> None:
    bp = Blueprint("bp", __name__)

    def view() -> str:
        return ""

    view.__name__ = "a.b"
    with pytest.raises(ValueError, match="'view_func' name may not contain a dot"):
        bp.add_url_rule("/", view_func=view)


def test_blueprint_cannot_be_registered_on_itself() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        bp.register_blueprint(bp)


def test_setup_after_registration_is_an_error(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint 'bp'"):
        bp.route("/late")(lambda: "")


def test_iter_blueprints_in_registration_order(app: Erlen) -> None:
    first = Blueprint("first", __name__)
    second = Blueprint("second", __name__)
    app.register_blueprint(second)
    app.register_blueprint(first)
    assert list(app.iter_blueprints()) == [second, first]


def test_url_defaults_of_a_blueprint(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("pages", __name__, url_defaults={"page": "home"})
    bp.route("/")(lambda page: page)
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="about", url_prefix="/about", url_defaults={"page": "about"})
    assert client.get("/").data == b"home"
    assert client.get("/about/").data == b"about"
    with app.test_request_context():
        assert url_for("about.<lambda>") == "/about/"


def test_record_and_record_once(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    states: list[tuple[str, bool]] = []
    once: list[str] = []
    bp.record(lambda state: states.append((state.name, state.first_registration)))
    bp.record_once(lambda state: once.append(state.name))
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")
    assert states == [("bp", True), ("again", False)]
    assert once == ["bp"]


def test_setup_state_reports_the_resolved_options(app: Erlen) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/own", subdomain="own")
    seen: list[BlueprintSetupState] = []
    bp.record(seen.append)
    app.register_blueprint(bp, url_prefix="/given", url_defaults={"x": 1})
    state = seen[0]
    assert state.app is app
    assert state.blueprint is bp
    assert state.url_prefix == "/given"
    assert state.subdomain == "own"
    assert state.url_defaults == {"x": 1}
    assert state.name == "bp"


def test_custom_setup_state_via_make_setup_state(app: Erlen, client: FlaskClient) -> None:
    class LoudState(BlueprintSetupState):
        def add_url_rule(self, rule: str, *args: t.Any, **kwargs: t.Any) -> None:
            super().add_url_rule(rule.upper(), *args, **kwargs)

    class LoudBlueprint(Blueprint):
        def make_setup_state(
            self, app: t.Any, options: dict[str, t.Any], first_registration: bool = False
        ) -> BlueprintSetupState:
            return LoudState(self, app, options, first_registration)

    bp = LoudBlueprint("loud", __name__)
    bp.route("/quiet")(lambda: "shouted")
    app.register_blueprint(bp)
    assert client.get("/QUIET").data == b"shouted"


# -- nesting ---------------------------------------------------------------------------------


@pytest.fixture
def nested_app(app: Erlen) -> Erlen:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    grandchild = Blueprint("grandchild", __name__, url_prefix="/grandchild")

    @parent.route("/")
    def parent_index() -> str:
        return f"{request.endpoint} {request.blueprints}"

    @child.route("/")
    def child_index() -> str:
        return f"{request.endpoint} {request.blueprints}"

    @grandchild.route("/")
    def grandchild_index() -> str:
        return f"{request.endpoint} {request.blueprints} {url_for('.grandchild_index')}"

    child.register_blueprint(grandchild)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    return app


def test_nested_blueprints_join_prefixes_and_names(nested_app: Erlen) -> None:
    client = nested_app.test_client()
    assert client.get("/parent/").data == b"parent.parent_index ['parent']"
    assert client.get("/parent/child/").data == (
        b"parent.child.child_index ['parent.child', 'parent']"
    )
    assert client.get("/parent/child/grandchild/").data == (
        b"parent.child.grandchild.grandchild_index "
        b"['parent.child.grandchild', 'parent.child', 'parent'] "
        b"/parent/child/grandchild/"
    )
    assert set(nested_app.blueprints) == {"parent", "parent.child", "parent.child.grandchild"}


def test_nested_url_for_from_outside(nested_app: Erlen) -> None:
    with nested_app.test_request_context():
        assert url_for("parent.child.grandchild.grandchild_index") == "/parent/child/grandchild/"


def test_nested_registration_options_override_prefix(app: Erlen, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    child.route("/")(lambda: "child")
    parent.register_blueprint(child, url_prefix="/renamed")
    app.register_blueprint(parent, url_prefix="/top")
    assert client.get("/top/renamed/").data == b"child"


def test_nested_blueprint_without_prefixes(app: Erlen, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    child.route("/plain")(lambda: "plain")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/plain").data == b"plain"


def test_nested_blueprint_registered_twice_under_two_parents(
    app: Erlen, client: FlaskClient
) -> None:
    child = Blueprint("child", __name__)
    child.route("/")(lambda: request.blueprint or "")
    left = Blueprint("left", __name__, url_prefix="/left")
    right = Blueprint("right", __name__, url_prefix="/right")
    left.register_blueprint(child)
    right.register_blueprint(child)
    app.register_blueprint(left)
    app.register_blueprint(right)
    assert client.get("/left/").data == b"left.child"
    assert client.get("/right/").data == b"right.child"


def test_nested_registration_name_option(app: Erlen, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    child.route("/c")(lambda: request.blueprint or "")
    parent.register_blueprint(child, name="alias")
    app.register_blueprint(parent)
    assert client.get("/c").data == b"parent.alias"


# -- subdomains ------------------------------------------------------------------------------


@pytest.fixture
def subdomain_app() -> Erlen:
    app = Erlen("bp_subdomains", subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    return app


def test_blueprint_subdomain(subdomain_app: Erlen) -> None:
    bp = Blueprint("api", __name__, subdomain="api")
    bp.route("/")(lambda: "api root")
    subdomain_app.register_blueprint(bp)
    client = subdomain_app.test_client()
    assert client.get("/", "http://api.example.test/").data == b"api root"
    assert client.get("/", "http://example.test/").status_code == 404


def test_registration_subdomain_overrides_the_blueprints(subdomain_app: Erlen) -> None:
    bp = Blueprint("api", __name__, subdomain="api")
    bp.route("/")(lambda: "moved")
    subdomain_app.register_blueprint(bp, subdomain="rest")
    client = subdomain_app.test_client()
    assert client.get("/", "http://rest.example.test/").data == b"moved"


def test_route_subdomain_overrides_the_blueprints(subdomain_app: Erlen) -> None:
    bp = Blueprint("api", __name__, subdomain="api")
    bp.route("/", subdomain="docs")(lambda: "docs")
    subdomain_app.register_blueprint(bp)
    client = subdomain_app.test_client()
    assert client.get("/", "http://docs.example.test/").data == b"docs"


def test_nested_subdomains_are_joined(subdomain_app: Erlen) -> None:
    parent = Blueprint("parent", __name__, subdomain="api")
    child = Blueprint("child", __name__, subdomain="v1")
    child.route("/")(lambda: "v1 of api")
    parent.register_blueprint(child)
    subdomain_app.register_blueprint(parent)
    client = subdomain_app.test_client()
    assert client.get("/", "http://v1.api.example.test/").data == b"v1 of api"
    with subdomain_app.test_request_context():
        assert url_for("parent.child.<lambda>") == "http://v1.api.example.test/"


def test_child_inherits_the_parents_subdomain(subdomain_app: Erlen) -> None:
    parent = Blueprint("parent", __name__, subdomain="api")
    child = Blueprint("child", __name__)
    child.route("/c")(lambda: "child")
    parent.register_blueprint(child)
    subdomain_app.register_blueprint(parent)
    client = subdomain_app.test_client()
    assert client.get("/c", "http://api.example.test/").data == b"child"


def test_child_subdomain_without_parent_subdomain(subdomain_app: Erlen) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__, subdomain="kid")
    child.route("/c")(lambda: "child")
    parent.register_blueprint(child)
    subdomain_app.register_blueprint(parent)
    client = subdomain_app.test_client()
    assert client.get("/c", "http://kid.example.test/").data == b"child"


def test_subdomain_variable_in_a_blueprint(subdomain_app: Erlen) -> None:
    bp = Blueprint("tenant", __name__, subdomain="<tenant>")
    bp.route("/")(lambda tenant: f"tenant {tenant}")
    subdomain_app.register_blueprint(bp)
    client = subdomain_app.test_client()
    assert client.get("/", "http://acme.example.test/").data == b"tenant acme"


# -- static files and templates --------------------------------------------------------------


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "style.css").write_text("body { color: red; }")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("blueprint page {{ value }}")
    (tmp_path / "templates" / "shared.html").write_text("blueprint version")
    (tmp_path / "app_templates").mkdir()
    (tmp_path / "app_templates" / "shared.html").write_text("app version")
    return tmp_path


def test_blueprint_static_files(app: Erlen, client: FlaskClient, resources: Path) -> None:
    bp = Blueprint(
        "assets", __name__, static_folder="static", url_prefix="/assets", root_path=str(resources)
    )
    app.register_blueprint(bp)
    response = client.get("/assets/static/style.css")
    assert response.status_code == 200
    assert response.data == b"body { color: red; }"
    assert response.mimetype == "text/css"
    response.close()
    assert client.get("/assets/static/missing.css").status_code == 404
    with app.test_request_context():
        assert url_for("assets.static", filename="style.css") == "/assets/static/style.css"


def test_blueprint_static_url_path(app: Erlen, client: FlaskClient, resources: Path) -> None:
    bp = Blueprint(
        "assets",
        __name__,
        static_folder="static",
        static_url_path="/files",
        root_path=str(resources),
    )
    app.register_blueprint(bp, url_prefix="/bp")
    response = client.get("/bp/files/style.css")
    assert response.status_code == 200
    response.close()


def test_blueprint_static_file_cache_age_follows_config(
    app: Erlen, client: FlaskClient, resources: Path
) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    bp = Blueprint("assets", __name__, static_folder="static", root_path=str(resources))
    app.register_blueprint(bp, url_prefix="/bp")
    response = client.get("/bp/static/style.css")
    assert response.cache_control.max_age == 60
    response.close()


def test_blueprint_static_folder_cannot_escape(
    app: Erlen, client: FlaskClient, resources: Path
) -> None:
    bp = Blueprint("assets", __name__, static_folder="static", root_path=str(resources))
    app.register_blueprint(bp, url_prefix="/bp")
    assert client.get("/bp/static/../templates/page.html").status_code == 404
    assert client.get("/bp/static/%2e%2e/templates/page.html").status_code == 404


def test_blueprint_without_static_folder_has_no_static_route(app: Erlen) -> None:
    bp = Blueprint("plain", __name__)
    app.register_blueprint(bp)
    assert "plain.static" not in {rule.endpoint for rule in app.url_map.iter_rules()}
    with pytest.raises(RuntimeError, match="'static_folder' must be set"):
        bp.send_static_file("x")


def test_blueprint_templates(app: Erlen, client: FlaskClient, resources: Path) -> None:
    bp = Blueprint("pages", __name__, template_folder="templates", root_path=str(resources))
    bp.route("/")(lambda: erlen.render_template("page.html", value=42))
    app.register_blueprint(bp)
    assert client.get("/").data == b"blueprint page 42"


def test_app_templates_win_over_blueprint_templates(resources: Path) -> None:
    app = Erlen("templ", root_path=str(resources), template_folder="app_templates")
    bp = Blueprint("pages", __name__, template_folder="templates", root_path=str(resources))
    bp.route("/")(lambda: erlen.render_template("shared.html"))
    app.register_blueprint(bp)
    assert app.test_client().get("/").data == b"app version"


def test_blueprint_open_resource(resources: Path) -> None:
    bp = Blueprint("res", __name__, root_path=str(resources))
    with bp.open_resource("static/style.css") as f:
        assert f.read() == b"body { color: red; }"  # type: ignore[comparison-overlap]
    with bp.open_resource("static/style.css", "r") as f:
        assert f.read() == "body { color: red; }"
    with pytest.raises(ValueError, match="Resources can only be opened for reading"):
        bp.open_resource("static/style.css", "w")


def test_blueprint_context_processor_is_scoped(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)
    bp.context_processor(lambda: {"who": "blueprint"})
    bp.app_context_processor(lambda: {"everywhere": "yes"})
    template = "{{ who|default('nobody') }} {{ everywhere }}"
    bp.route("/in")(lambda: erlen.render_template_string(template))
    app.add_url_rule("/out", "out", lambda: erlen.render_template_string(template))
    app.register_blueprint(bp)
    assert client.get("/in").data == b"blueprint yes"
    assert client.get("/out").data == b"nobody yes"


def test_blueprint_app_template_filter_test_and_global(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter()
    def shout(value: str) -> str:
        return value.upper()

    @bp.app_template_test("even")
    def is_even(value: int) -> bool:
        return value % 2 == 0

    @bp.app_template_global()
    def answer() -> int:
        return 42

    app.register_blueprint(bp)
    app.add_url_rule(
        "/",
        "index",
        lambda: erlen.render_template_string("{{ 'hi'|shout }} {{ 4 is even }} {{ answer() }}"),
    )
    assert client.get("/").data == b"HI True 42"


# -- hooks scoped to blueprints ------------------------------------------------------------


@pytest.fixture
def hooked_app(app: Erlen) -> tuple[Erlen, list[str]]:
    events: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.before_request
    def bp_before() -> None:
        events.append("bp before")

    @bp.after_request
    def bp_after(response: Response) -> Response:
        events.append("bp after")
        return response

    @bp.teardown_request
    def bp_teardown(exc: BaseException | None) -> None:
        events.append("bp teardown")

    @bp.before_app_request
    def global_before() -> None:
        events.append("app-wide before")

    @bp.after_app_request
    def global_after(response: Response) -> Response:
        events.append("app-wide after")
        return response

    @bp.teardown_app_request
    def global_teardown(exc: BaseException | None) -> None:
        events.append("app-wide teardown")

    bp.route("/")(lambda: "in blueprint")
    app.add_url_rule("/", "outside", lambda: "outside")
    app.register_blueprint(bp)
    return app, events


def test_blueprint_hooks_run_only_for_its_routes(hooked_app: tuple[Erlen, list[str]]) -> None:
    app, events = hooked_app
    client = app.test_client()
    client.get("/")
    assert events == ["app-wide before", "app-wide after", "app-wide teardown"]
    events.clear()
    client.get("/bp/")
    assert events == [
        "app-wide before",
        "bp before",
        "bp after",
        "app-wide after",
        "bp teardown",
        "app-wide teardown",
    ]


def test_blueprint_hooks_do_not_run_for_unmatched_urls_under_its_prefix(
    hooked_app: tuple[Erlen, list[str]],
) -> None:
    app, events = hooked_app
    assert app.test_client().get("/bp/missing").status_code == 404
    assert "bp before" not in events


def test_nested_blueprint_hooks_run_outer_first(nested_app: Erlen) -> None:
    events: list[str] = []
    for name in ("parent", "parent.child", "parent.child.grandchild"):
        nested_app.before_request_funcs.setdefault(name, []).append(
            lambda name=name: events.append(name)
        )
    nested_app.test_client().get("/parent/child/grandchild/")
    assert events == ["parent", "parent.child", "parent.child.grandchild"]


def test_parent_blueprint_hooks_run_for_child_routes(app: Erlen, client: FlaskClient) -> None:
    events: list[str] = []
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    parent.before_request(lambda: events.append("parent before"))
    child.before_request(lambda: events.append("child before"))

    def parent_after(response: Response) -> Response:
        events.append("parent after")
        return response

    def child_after(response: Response) -> Response:
        events.append("child after")
        return response

    parent.after_request(parent_after)
    child.after_request(child_after)
    child.route("/c")(lambda: "")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    client.get("/c")
    assert events == ["parent before", "child before", "child after", "parent after"]


def test_blueprint_url_value_preprocessor_and_defaults(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("lang", __name__, url_prefix="/<lang_code>")

    @bp.url_value_preprocessor
    def pull(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        g.lang_code = values.pop("lang_code") if values else None

    @bp.url_defaults
    def push(endpoint: str, values: dict[str, t.Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.route("/")
    def index() -> str:
        return f"{g.lang_code} {url_for('.about')}"

    @bp.route("/about")
    def about() -> str:
        return "about"

    app.register_blueprint(bp)
    assert client.get("/de/").data == b"de /de/about"


def test_blueprint_url_defaults_do_not_apply_to_app_endpoints(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    bp.url_defaults(lambda endpoint, values: values.setdefault("from_bp", "1"))
    bp.route("/b")(lambda: "")
    app.add_url_rule("/a", "a", lambda: "")
    app.register_blueprint(bp)
    with app.test_request_context():
        assert url_for("a") == "/a"
        assert url_for("bp.<lambda>") == "/b?from_bp=1"


def test_app_url_value_preprocessor_and_app_url_defaults_from_a_blueprint(app: Erlen) -> None:
    bp = Blueprint("bp", __name__)
    bp.app_url_defaults(lambda endpoint, values: values.setdefault("v", "global"))
    seen: list[str | None] = []
    bp.app_url_value_preprocessor(lambda endpoint, values: seen.append(endpoint))
    app.add_url_rule("/a", "a", lambda: "")
    app.register_blueprint(bp)
    with app.test_request_context():
        assert url_for("a") == "/a?v=global"
    app.test_client().get("/a")
    assert seen == ["a"]


# -- error handlers scoped to blueprints ---------------------------------------------------


def test_blueprint_error_handler_is_used_for_its_views_only(
    app: Erlen, client: FlaskClient
) -> None:
    bp = Blueprint("bp", __name__)

    class Oops(Exception):
        pass

    bp.register_error_handler(Oops, lambda e: ("bp handler", 500))
    app.register_error_handler(Oops, lambda e: ("app handler", 500))

    @bp.route("/bp")
    def in_bp() -> str:
        raise Oops()

    @app.route("/app")
    def in_app() -> str:
        raise Oops()

    app.register_blueprint(bp)
    assert client.get("/bp").data == b"bp handler"
    assert client.get("/app").data == b"app handler"


def test_blueprint_http_error_handler(app: Erlen, client: FlaskClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.register_error_handler(403, lambda e: ("bp 403", 403))

    @bp.route("/")
    def denied() -> str:
        erlen.abort(403)

    @app.route("/")
    def also_denied() -> str:
        erlen.abort(403)

    app.register_blueprint(bp)
    assert client.get("/bp/").data == b"bp 403"
    assert client.get("/").status_code == 403
    assert client.get("/").data != b"bp 403"


def test_blueprint_404_handler_does_not_see_unmatched_urls(app: Erlen, client: FlaskClient) -> None:
    # An unmatched URL belongs to no blueprint, whatever its prefix; the app handles it.
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    bp.register_error_handler(404, lambda e: ("bp 404", 404))
    app.register_error_handler(404, lambda e: ("app 404", 404))
    bp.route("/")(lambda: "")

    @bp.route("/gone")
    def gone() -> str:
        raise NotFound()

    app.register_blueprint(bp)
    assert client.get("/bp/missing").data == b"app 404"
    assert client.get("/bp/gone").data == b"bp 404"


def test_nested_blueprint_handlers_innermost_first(app: Erlen, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)

    class ParentOnly(Exception):
        pass

    class Both(Exception):
        pass

    parent.register_error_handler(ParentOnly, lambda e: "parent handled")
    parent.register_error_handler(Both, lambda e: "parent handled both")
    child.register_error_handler(Both, lambda e: "child handled both")

    @child.route("/parent-only")
    def parent_only() -> str:
        raise ParentOnly()

    @child.route("/both")
    def both() -> str:
        raise Both()

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/parent-only").data == b"parent handled"
    assert client.get("/both").data == b"child handled both"


def test_app_errorhandler_from_a_blueprint_applies_everywhere(
    app: Erlen, client: FlaskClient
) -> None:
    bp = Blueprint("errors", __name__)

    @bp.app_errorhandler(404)
    def not_found(e: NotFound) -> tuple[str, int]:
        return "global 404", 404

    app.register_blueprint(bp)
    assert client.get("/anything").data == b"global 404"


def test_blueprint_code_handler_beats_app_class_handler(app: Erlen, client: FlaskClient) -> None:
    from werkzeug.exceptions import HTTPException

    bp = Blueprint("bp", __name__)
    bp.register_error_handler(HTTPException, lambda e: ("bp generic", e.code))
    app.register_error_handler(403, lambda e: ("app 403", 403))

    @bp.route("/")
    def denied() -> str:
        erlen.abort(403)

    app.register_blueprint(bp)
    # Handlers by code are tried before handlers by class, at every level.
    assert client.get("/").data == b"app 403"


# -- CLI groups ------------------------------------------------------------------------------


def _blueprint_with_command(**kwargs: t.Any) -> Blueprint:
    bp = Blueprint("tools", __name__, **kwargs)

    @bp.cli.command("hello")
    @click.argument("name", default="world")
    def hello(name: str) -> None:
        click.echo(f"hello {name} from {erlen.current_app.name}")

    return bp


def test_blueprint_commands_are_grouped_under_its_name(app: Erlen, runner: FlaskCliRunner) -> None:
    app.register_blueprint(_blueprint_with_command())
    result = runner.invoke(args=["tools", "hello", "ada"])
    assert result.exit_code == 0, result.output
    assert result.output == f"hello ada from {app.name}\n"


def test_blueprint_cli_group_name(app: Erlen, runner: FlaskCliRunner) -> None:
    app.register_blueprint(_blueprint_with_command(cli_group="utils"))
    result = runner.invoke(args=["utils", "hello"])
    assert result.exit_code == 0, result.output
    assert "hello world" in result.output


def test_blueprint_cli_group_none_merges_commands_into_the_app(
    app: Erlen, runner: FlaskCliRunner
) -> None:
    app.register_blueprint(_blueprint_with_command(cli_group=None))
    result = runner.invoke(args=["hello"])
    assert result.exit_code == 0, result.output
    assert "hello world" in result.output


def test_registration_cli_group_overrides_the_blueprints(
    app: Erlen, runner: FlaskCliRunner
) -> None:
    app.register_blueprint(_blueprint_with_command(cli_group="utils"), cli_group="other")
    assert runner.invoke(args=["other", "hello"]).exit_code == 0
    assert runner.invoke(args=["utils", "hello"]).exit_code != 0


def test_blueprint_without_commands_adds_no_group(app: Erlen) -> None:
    app.register_blueprint(Blueprint("quiet", __name__))
    assert "quiet" not in app.cli.commands


def test_blueprint_command_runs_in_an_app_context(app: Erlen, runner: FlaskCliRunner) -> None:
    bp = Blueprint("tools", __name__)

    @bp.cli.command("where")
    def where() -> None:
        click.echo(erlen.current_app.name)

    app.register_blueprint(bp)
    result = runner.invoke(args=["tools", "where"])
    assert result.output == f"{app.name}\n"
