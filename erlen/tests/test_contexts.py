"""Application and request contexts: pushing, popping, ``g``, teardown, and the session's life.

The default cookie session is opened lazily: a request that never touches the session
doesn't parse its cookie and doesn't get ``Vary: Cookie``, yet a permanent session still has
its expiry refreshed. A custom session interface is opened when the request context is
pushed, as Flask does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import typing as t
from pathlib import Path

import pytest
from werkzeug.test import create_environ

import erlen
from erlen import current_app
from erlen import Erlen
from erlen import g
from erlen import request
from erlen import session
from erlen.ctx import AppContext
from erlen.ctx import RequestContext
from erlen.globals import app_ctx
from erlen.globals import request_ctx
from erlen.sessions import SecureCookieSession
from erlen.sessions import SecureCookieSessionInterface
from erlen.sessions import SessionInterface
from erlen.testing import FlaskClient
from erlen.wrappers import Request
from erlen.wrappers import Response

# -- the app context -----------------------------------------------------------------------


def test_app_context_binds_current_app_and_g(app: Erlen) -> None:
    assert not erlen.has_app_context()
    with app.app_context() as ctx:
        assert erlen.has_app_context()
        assert isinstance(ctx, AppContext)
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert app_ctx._get_current_object() is ctx  # type: ignore[attr-defined]
        g.value = 1
        assert ctx.g.value == 1
    assert not erlen.has_app_context()


def test_app_context_push_and_pop_by_hand(app: Erlen) -> None:
    ctx = app.app_context()
    ctx.push()
    try:
        assert current_app.name == app.name
    finally:
        ctx.pop()
    assert not erlen.has_app_context()


def test_each_app_context_has_its_own_g(app: Erlen) -> None:
    with app.app_context():
        g.value = "outer"
        with app.app_context():
            assert "value" not in g
            g.value = "inner"
        assert g.value == "outer"


def test_nested_contexts_of_different_apps(app: Erlen) -> None:
    other = Erlen("other")
    with app.app_context():
        with other.app_context():
            assert current_app.name == "other"
        assert current_app.name == app.name


def test_g_behaves_like_a_namespace(app: Erlen) -> None:
    with app.app_context():
        assert g.get("missing") is None
        assert g.get("missing", 5) == 5
        assert g.setdefault("x", 1) == 1
        assert g.setdefault("x", 2) == 1
        assert "x" in g
        assert list(g) == ["x"]
        assert g.pop("x") == 1
        assert g.pop("x", "gone") == "gone"
        with pytest.raises(KeyError):
            g.pop("x")
        with pytest.raises(AttributeError):
            g.nothing  # noqa: B018
        g.y = 2
        del g.y
        with pytest.raises(AttributeError):
            del g.y


def test_g_repr_names_the_app(app: Erlen) -> None:
    with app.app_context():
        assert repr(g) == f"<erlen.g of {app.name!r}>"


def test_app_context_teardown_runs_once_when_the_outermost_push_pops(app: Erlen) -> None:
    calls: list[t.Any] = []
    app.teardown_appcontext(calls.append)
    ctx = app.app_context()
    ctx.push()
    ctx.push()
    ctx.pop()
    assert calls == []
    ctx.pop()
    assert calls == [None]


def test_app_context_teardown_gets_the_exception(app: Erlen) -> None:
    calls: list[t.Any] = []
    app.teardown_appcontext(calls.append)
    error = ValueError("boom")
    with pytest.raises(ValueError), app.app_context():
        raise error
    assert calls == [error]


def test_app_context_teardowns_run_in_reverse_registration_order(app: Erlen) -> None:
    order: list[str] = []
    app.teardown_appcontext(lambda exc: order.append("first"))
    app.teardown_appcontext(lambda exc: order.append("second"))
    with app.app_context():
        pass
    assert order == ["second", "first"]


def test_popping_the_wrong_app_context_is_an_error(app: Erlen) -> None:
    outer = app.app_context()
    inner = app.app_context()
    outer.push()
    inner.push()
    try:
        with pytest.raises(AssertionError, match="Popped wrong app context"):
            outer.pop()
    finally:
        # The failed pop still deactivated one context; leave none behind.
        while erlen.has_app_context():
            erlen.globals._cv_app.get().pop()


def test_url_for_works_in_an_app_context_with_server_name(app: Erlen) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.add_url_rule("/x", "x", lambda: "")
    with app.app_context():
        assert erlen.url_for("x") == "http://example.test/x"


# -- the request context -------------------------------------------------------------------


def test_request_context_binds_request_and_pushes_an_app_context(app: Erlen) -> None:
    assert not erlen.has_request_context()
    with app.test_request_context("/path?x=1", method="POST") as ctx:
        assert isinstance(ctx, RequestContext)
        assert erlen.has_request_context()
        assert erlen.has_app_context()
        assert request.path == "/path"
        assert request.args["x"] == "1"
        assert request.method == "POST"
        assert request_ctx._get_current_object() is ctx  # type: ignore[attr-defined]
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
    assert not erlen.has_request_context()
    assert not erlen.has_app_context()


def test_request_context_reuses_an_active_app_context_of_its_app(app: Erlen) -> None:
    with app.app_context():
        g.marker = "kept"
        with app.test_request_context():
            assert g.marker == "kept"
        assert erlen.has_app_context()


def test_request_context_of_another_app_pushes_its_own_app_context(app: Erlen) -> None:
    other = Erlen("other")
    with app.app_context():
        g.marker = "first app"
        with other.test_request_context():
            assert current_app.name == "other"
            assert "marker" not in g
        assert current_app.name == app.name


def test_request_context_can_be_pushed_twice(app: Erlen) -> None:
    calls: list[t.Any] = []
    app.teardown_request(calls.append)
    ctx = app.test_request_context()
    ctx.push()
    ctx.push()
    ctx.pop()
    assert erlen.has_request_context()
    assert calls == []
    ctx.pop()
    assert not erlen.has_request_context()
    assert calls == [None]


def test_popping_the_wrong_request_context_is_an_error(app: Erlen) -> None:
    outer = app.test_request_context()
    inner = app.test_request_context()
    outer.push()
    inner.push()
    try:
        with pytest.raises(AssertionError, match="Popped wrong request context"):
            outer.pop()
    finally:
        while erlen.has_request_context():
            erlen.globals._cv_request.get().pop()
        while erlen.has_app_context():
            erlen.globals._cv_app.get().pop()


def test_request_context_repr(app: Erlen) -> None:
    ctx = app.test_request_context("/somewhere", method="PUT")
    assert repr(ctx) == f"<RequestContext 'http://localhost/somewhere' [PUT] of {app.name}>"


def test_request_context_matches_the_url_on_push(app: Erlen) -> None:
    app.add_url_rule("/item/<int:id>", "item", lambda id: "")
    with app.test_request_context("/item/5"):
        assert request.endpoint == "item"
        assert request.view_args == {"id": 5}
        assert request.url_rule is not None
        assert request.url_rule.rule == "/item/<int:id>"
    with app.test_request_context("/nowhere"):
        assert request.endpoint is None
        assert request.routing_exception is not None
        assert request.routing_exception.code == 404


def test_request_context_from_a_raw_environ(app: Erlen) -> None:
    environ = create_environ("/raw", "http://example.test/")
    with app.request_context(environ):
        assert request.url == "http://example.test/raw"


def test_request_context_takes_the_app_request_class(app: Erlen) -> None:
    class MyRequest(Request):
        marker = "mine"

    app.request_class = MyRequest
    with app.test_request_context():
        assert isinstance(request._get_current_object(), MyRequest)  # type: ignore[attr-defined]


def test_client_keeps_the_context_inside_a_with_block(app: Erlen) -> None:
    app.route("/")(lambda: "")
    with app.test_client() as client:
        client.get("/?q=kept")
        assert request.args["q"] == "kept"
    assert not erlen.has_request_context()


def test_contexts_are_gone_after_a_request(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "")
    client.get("/")
    assert not erlen.has_request_context()
    assert not erlen.has_app_context()


def test_contexts_are_gone_after_a_failing_request(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def fail() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        client.get("/")
    assert not erlen.has_request_context()
    assert not erlen.has_app_context()


# -- working outside a context -------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (lambda: current_app.name, "Working outside of application context"),
        (lambda: g.value, "Working outside of application context"),
        (lambda: request.path, "Working outside of request context"),
        (lambda: session.get("x"), "Working outside of request context"),
        (lambda: app_ctx.app, "Working outside of application context"),
        (lambda: request_ctx.request, "Working outside of request context"),
    ],
)
def test_globals_outside_a_context_explain_the_fix(
    proxy: t.Callable[[], t.Any], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        proxy()


def test_app_context_message_names_the_fix() -> None:
    with pytest.raises(RuntimeError) as info:
        current_app.config  # noqa: B018
    assert "app.app_context()" in str(info.value)


def test_request_globals_outside_a_request_but_inside_an_app_context(app: Erlen) -> None:
    with app.app_context():
        with pytest.raises(RuntimeError, match="Working outside of request context"):
            request.args  # noqa: B018
        assert not erlen.has_request_context()


def test_after_this_request_outside_a_request_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="'after_this_request' can only be used"):
        erlen.after_this_request(lambda response: response)


def test_copy_current_request_context_outside_a_request_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="'copy_current_request_context' can only be used"):
        erlen.copy_current_request_context(lambda: None)


# -- after_this_request --------------------------------------------------------------------


def test_after_this_request_changes_only_this_response(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        if request.args.get("mark"):

            @erlen.after_this_request
            def mark(response: Response) -> Response:
                response.headers["X-Marked"] = "yes"
                return response

        return ""

    assert client.get("/?mark=1").headers["X-Marked"] == "yes"
    assert "X-Marked" not in client.get("/").headers


def test_after_this_request_runs_before_after_request_hooks(
    app: Erlen, client: FlaskClient
) -> None:
    order: list[str] = []

    @app.after_request
    def hook(response: Response) -> Response:
        order.append("after_request")
        return response

    def recorder(name: str) -> t.Callable[[Response], Response]:
        def record(response: Response) -> Response:
            order.append(name)
            return response

        return record

    @app.route("/")
    def index() -> str:
        erlen.after_this_request(recorder("first"))
        erlen.after_this_request(recorder("second"))
        return ""

    client.get("/")
    assert order == ["first", "second", "after_request"]


def test_after_this_request_returns_the_function(app: Erlen) -> None:
    def hook(response: Response) -> Response:
        return response

    with app.test_request_context():
        assert erlen.after_this_request(hook) is hook


# -- copy_current_request_context ----------------------------------------------------------


def test_copied_request_context_works_in_another_thread(app: Erlen, client: FlaskClient) -> None:
    results: list[str] = []

    @app.route("/")
    def index() -> str:
        session["who"] = "ada"

        @erlen.copy_current_request_context
        def work() -> None:
            results.append(f"{request.args['q']} {session['who']} {current_app.name}")

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return ""

    client.get("/?q=query")
    assert results == [f"query ada {app.name}"]


def test_copied_request_context_shares_the_session(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        @erlen.copy_current_request_context
        def work() -> None:
            session["from_thread"] = "set"

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return str(session.get("from_thread", "missing"))

    assert client.get("/").data == b"set"


def test_copied_function_keeps_its_name_and_return_value(app: Erlen) -> None:
    with app.test_request_context("/?v=7"):

        def compute(factor: int) -> int:
            return int(request.args["v"]) * factor

        wrapped = erlen.copy_current_request_context(compute)
    assert wrapped.__name__ == "compute"
    assert wrapped(3) == 21
    assert not erlen.has_request_context()


def test_request_context_copy_shares_request_and_session(app: Erlen) -> None:
    with app.test_request_context() as ctx:
        copy = ctx.copy()
        assert copy.request is ctx.request
        assert copy.app is ctx.app
        assert copy.session is ctx.session


# -- teardown order ------------------------------------------------------------------------


def test_teardown_order_after_a_request(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []
    app.teardown_request(lambda exc: order.append("request 1"))
    app.teardown_request(lambda exc: order.append("request 2"))
    app.teardown_appcontext(lambda exc: order.append("appcontext"))

    @app.after_request
    def after(response: Response) -> Response:
        order.append("after_request")
        return response

    @app.route("/")
    def view() -> str:
        order.append("view")
        return ""

    client.get("/")
    assert order == ["view", "after_request", "request 2", "request 1", "appcontext"]


def test_teardown_gets_none_after_a_successful_request(app: Erlen, client: FlaskClient) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)
    app.route("/")(lambda: "")
    client.get("/")
    assert seen == [None, None]


def test_teardown_gets_an_unhandled_exception(app: Erlen, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)
    error = ZeroDivisionError("bad math")

    @app.route("/")
    def fail() -> str:
        raise error

    assert client.get("/").status_code == 500
    assert seen == [error, error]


def test_teardown_gets_none_when_an_error_handler_handled_it(
    app: Erlen, client: FlaskClient
) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    app.register_error_handler(KeyError, lambda e: ("handled", 400))

    @app.route("/")
    def fail() -> str:
        raise KeyError("x")

    assert client.get("/").status_code == 400
    assert seen == [None]


def test_teardown_runs_even_when_the_exception_propagates(app: Erlen, client: FlaskClient) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)

    @app.route("/")
    def fail() -> str:
        raise ValueError("propagated")

    with pytest.raises(ValueError):
        client.get("/")
    assert len(seen) == 1
    assert isinstance(seen[0], ValueError)


def test_teardown_still_sees_request_and_g(app: Erlen, client: FlaskClient) -> None:
    seen: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(f"{request.path} {g.get('mark')}")

    @app.route("/here")
    def here() -> str:
        g.mark = "set in view"
        return ""

    client.get("/here")
    assert seen == ["/here set in view"]


def test_teardown_runs_for_test_request_context(app: Erlen) -> None:
    seen: list[t.Any] = []
    app.teardown_request(seen.append)
    with app.test_request_context():
        pass
    assert seen == [None]


def test_request_is_closed_at_teardown(app: Erlen, client: FlaskClient) -> None:
    files: list[t.Any] = []

    @app.route("/", methods=["POST"])
    def upload() -> str:
        files.append(request.files["f"])
        return ""

    import io

    client.post("/", data={"f": (io.BytesIO(b"content"), "f.txt")})
    assert files[0].stream.closed


# -- the session's life --------------------------------------------------------------------


def test_untouched_session_adds_no_vary_and_no_cookie(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "")
    response = client.get("/")
    assert "Vary" not in response.headers
    assert "Set-Cookie" not in response.headers


def test_reading_the_session_adds_vary_cookie(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: str(session.get("x")))
    response = client.get("/")
    assert response.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in response.headers


def test_checking_membership_marks_the_session_accessed(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: str("x" in session))
    assert client.get("/").headers["Vary"] == "Cookie"


def test_any_use_of_the_session_proxy_marks_it_accessed(app: Erlen, client: FlaskClient) -> None:
    # Even looking at an attribute tells a cache the response may depend on the cookie.
    app.route("/")(lambda: str(session.modified))
    assert client.get("/").headers["Vary"] == "Cookie"


def test_writing_the_session_sets_the_cookie(app: Erlen, client: FlaskClient) -> None:
    @app.route("/set")
    def set_value() -> str:
        session["x"] = "1"
        return ""

    @app.route("/get")
    def get_value() -> str:
        return str(session.get("x"))

    response = client.get("/set")
    assert "session=" in response.headers["Set-Cookie"]
    assert response.headers["Vary"] == "Cookie"
    assert client.get("/get").data == b"1"


def test_untouched_session_with_a_cookie_is_not_resent(app: Erlen, client: FlaskClient) -> None:
    @app.route("/set")
    def set_value() -> str:
        session["x"] = "1"
        return ""

    app.route("/")(lambda: "")
    client.get("/set")
    response = client.get("/")
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


def test_untouched_permanent_session_is_refreshed(app: Erlen, client: FlaskClient) -> None:
    @app.route("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ada"
        return ""

    app.route("/")(lambda: "")
    client.get("/login")
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "Expires=" in cookie
    # Any response that sets the session cookie varies on it.
    assert response.headers["Vary"] == "Cookie"


def test_permanent_session_not_refreshed_when_refresh_is_off(
    app: Erlen, client: FlaskClient
) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False

    @app.route("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ada"
        return ""

    app.route("/")(lambda: "")
    client.get("/login")
    assert "Set-Cookie" not in client.get("/").headers


def test_permanent_session_refreshed_under_a_custom_cookie_name(
    app: Erlen, client: FlaskClient
) -> None:
    app.config["SESSION_COOKIE_NAME"] = "sid"

    @app.route("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ada"
        return ""

    app.route("/")(lambda: "")
    client.get("/login")
    assert client.get("/").headers["Set-Cookie"].startswith("sid=")


def test_other_cookies_do_not_open_the_session(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "")
    client.set_cookie("sessionless", "x")
    client.set_cookie("not_session", "y")
    response = client.get("/")
    assert "Set-Cookie" not in response.headers


def test_tampered_session_cookie_gives_an_empty_session(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: repr(dict(session)))
    client.set_cookie("session", "not.a.valid.signature")
    response = client.get("/")
    assert response.status_code == 200
    assert response.data == b"{}"


def test_session_without_secret_key_is_a_null_session(app: Erlen, client: FlaskClient) -> None:
    app.secret_key = None

    @app.route("/read")
    def read() -> str:
        return str(session.get("x"))

    @app.route("/write")
    def write() -> str:
        session["x"] = 1
        return ""

    app.config["PROPAGATE_EXCEPTIONS"] = True
    assert client.get("/read").data == b"None"
    with pytest.raises(RuntimeError, match="secret key"):
        client.get("/write")


def test_session_modified_in_after_request_is_saved(app: Erlen, client: FlaskClient) -> None:
    @app.after_request
    def remember(response: Response) -> Response:
        session["seen"] = True
        return response

    app.add_url_rule("/", "index", lambda: "")
    app.add_url_rule("/check", "check", lambda: str(session.get("seen")))
    assert "Set-Cookie" in client.get("/").headers
    assert client.get("/check").data == b"True"


def test_session_is_available_in_before_request_and_teardown(
    app: Erlen, client: FlaskClient
) -> None:
    seen: list[t.Any] = []
    app.before_request(lambda: seen.append(session.get("x", "none")))
    app.teardown_request(lambda exc: seen.append(session.get("x", "none")))
    app.route("/")(lambda: "")
    client.get("/")
    assert seen == ["none", "none"]


def test_session_in_a_test_request_context(app: Erlen) -> None:
    with app.test_request_context():
        session["x"] = 1
        assert session["x"] == 1
        assert isinstance(session._get_current_object(), SecureCookieSession)  # type: ignore[attr-defined]


def test_subclassed_cookie_interface_still_works(app: Erlen, client: FlaskClient) -> None:
    class Named(SecureCookieSessionInterface):
        def get_cookie_name(self, app: Erlen) -> str:
            return "named"

    app.session_interface = Named()

    @app.route("/set")
    def set_value() -> str:
        session["x"] = "y"
        return ""

    app.route("/get")(lambda: str(session.get("x")))
    assert client.get("/set").headers["Set-Cookie"].startswith("named=")
    assert client.get("/get").data == b"y"


class RecordingSessionInterface(SessionInterface):
    """A session interface that records when it is asked to open and save."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def open_session(self, app: Erlen, request: Request) -> SecureCookieSession:
        # Flask opens the session once the request context is active; some interfaces
        # rely on that (e.g. to read request_ctx or g).
        self.events.append(f"open (request context active: {erlen.has_request_context()})")
        return SecureCookieSession({"user": request.headers.get("X-User", "nobody")})

    def save_session(  # type: ignore[override]
        self, app: Erlen, session: SecureCookieSession, response: Response
    ) -> None:
        self.events.append("save")


def test_custom_session_interface_is_opened_at_push(app: Erlen, client: FlaskClient) -> None:
    interface = RecordingSessionInterface()
    app.session_interface = interface
    app.route("/")(lambda: "never touches the session")
    client.get("/")
    assert interface.events == ["open (request context active: True)", "save"]


def test_custom_session_interface_is_open_before_url_matching(
    app: Erlen, client: FlaskClient
) -> None:
    interface = RecordingSessionInterface()
    app.session_interface = interface
    with app.test_request_context():
        assert interface.events == ["open (request context active: True)"]


def test_custom_session_values_reach_the_view(app: Erlen, client: FlaskClient) -> None:
    app.session_interface = RecordingSessionInterface()
    app.route("/")(lambda: session["user"])
    assert client.get("/", headers={"X-User": "ada"}).data == b"ada"


def test_custom_session_interface_opened_once_per_request_even_if_pushed_twice(
    app: Erlen,
) -> None:
    interface = RecordingSessionInterface()
    app.session_interface = interface
    ctx = app.test_request_context()
    ctx.push()
    ctx.push()
    ctx.pop()
    ctx.pop()
    assert interface.events == ["open (request context active: True)"]


def test_session_survives_stream_with_context(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> t.Any:
        session["x"] = "streamed"

        @erlen.stream_with_context
        def generate() -> t.Iterator[str]:
            yield session["x"]
            yield request.path

        return generate()

    assert client.get("/").data == b"streamed/"


# -- the leak guards in conftest.py ----------------------------------------------------------


def _run_pytest_with_our_conftest(
    tmp_path: Path, test_source: str
) -> subprocess.CompletedProcess[str]:
    conftest = Path(__file__).with_name("conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(test_source))
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def test_guards_fail_tests_that_leak_contexts_or_environment(tmp_path: Path) -> None:
    # One pytest run for both guards: starting pytest in a subprocess is the slow part.
    result = _run_pytest_with_our_conftest(
        tmp_path,
        """
        import os

        import erlen

        def test_leaks_a_context(app):
            app.test_request_context().push()

        def test_runs_clean_after_the_context_leak():
            assert not erlen.has_request_context()
            assert not erlen.has_app_context()

        def test_changes_environ():
            os.environ["ERLEN_GUARD_PROBE"] = "leaked"

        def test_runs_clean_after_the_environ_change():
            assert "ERLEN_GUARD_PROBE" not in os.environ

        def test_monkeypatch_is_fine(monkeypatch):
            monkeypatch.setenv("ERLEN_GUARD_PROBE", "undone")
        """,
    )
    assert "ERROR test_leaky.py::test_leaks_a_context - Failed: The test left contexts" in (
        result.stdout
    )
    assert "The test changed os.environ: ERLEN_GUARD_PROBE" in result.stdout
    # Each leaking test passes on its own; the guard adds an error at its teardown.
    assert "5 passed, 2 errors" in result.stdout


# -- a teardown function that raises -------------------------------------------------------------


def _failing_teardowns(app: Erlen) -> list[str]:
    """Register, in both kinds of teardown, a failing function between two that record."""
    ran: list[str] = []

    @app.teardown_appcontext
    def app_last(exc: BaseException | None) -> None:
        ran.append("app last")

    @app.teardown_appcontext
    def app_breaks(exc: BaseException | None) -> None:
        raise RuntimeError("the pool is gone")

    @app.teardown_request
    def request_last(exc: BaseException | None) -> None:
        ran.append("request last")

    @app.teardown_request
    def request_breaks(exc: BaseException | None) -> None:
        raise LookupError("clean-up failed")

    @app.route("/")
    def index() -> str:
        return "produced"

    return ran


def test_in_production_a_failing_teardown_is_logged_and_the_response_stands(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    app.testing = False
    ran = _failing_teardowns(app)

    response = app.test_client().get("/")

    # Before, the exception left wsgi_app after start_response: the server's empty 500.
    assert (response.status_code, response.text) == (200, "produced")
    assert ran == ["request last", "app last"]  # every other clean-up still ran
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == [
        "Exception in teardown _failing_teardowns.<locals>.request_breaks of / [GET];"
        " the response stands.",
        "Exception in teardown _failing_teardowns.<locals>.app_breaks; the response stands.",
    ]
    assert [type(r.exc_info[1]) for r in errors if r.exc_info] == [LookupError, RuntimeError]


def test_a_failing_teardown_propagates_in_testing_mode_as_in_flask(app: Erlen) -> None:
    ran: list[str] = []
    app.teardown_request(lambda exc: ran.append("registered first, runs last"))

    @app.teardown_request
    def breaks(exc: BaseException | None) -> None:
        raise LookupError("clean-up failed")

    app.route("/")(lambda: "produced")

    with pytest.raises(LookupError, match="clean-up failed"):
        app.test_client().get("/")
    assert ran == []  # as in Flask, the first failure ends the request's teardown


def test_propagate_exceptions_false_logs_a_failing_teardown_even_when_testing(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    ran = _failing_teardowns(app)

    assert app.test_client().get("/").status_code == 200
    assert ran == ["request last", "app last"]
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 2


def test_a_failing_receiver_of_the_tearing_down_signal_is_logged_too(
    app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    app.testing = False

    def breaks(sender: Erlen, **extra: t.Any) -> None:
        raise RuntimeError("receiver failed")

    app.route("/")(lambda: "produced")
    with erlen.request_tearing_down.connected_to(breaks, app):
        response = app.test_client().get("/")

    assert response.text == "produced"
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.getMessage().startswith("Exception in teardown request-tearing-down of /")
