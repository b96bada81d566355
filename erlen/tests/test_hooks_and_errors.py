"""Request hooks, error handlers, exception propagation and signals.

Signals are sent only when something is connected to them (so an unused signal costs
nothing), and then with Flask's sender and keyword arguments.
"""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from blinker import Signal
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound

import erlen
from erlen import Blueprint
from erlen import Erlen
from erlen import g
from erlen import request
from erlen import signals
from erlen.testing import FlaskClient
from erlen.wrappers import Response

# -- before / after / teardown ---------------------------------------------------------------


def test_hooks_run_in_order_around_the_view(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []

    @app.before_request
    def before_one() -> None:
        order.append("before 1")

    @app.before_request
    def before_two() -> None:
        order.append("before 2")

    @app.after_request
    def after_one(response: Response) -> Response:
        order.append("after 1")
        return response

    @app.after_request
    def after_two(response: Response) -> Response:
        order.append("after 2")
        return response

    @app.teardown_request
    def teardown_one(exc: BaseException | None) -> None:
        order.append("teardown 1")

    @app.teardown_request
    def teardown_two(exc: BaseException | None) -> None:
        order.append("teardown 2")

    @app.route("/")
    def view() -> str:
        order.append("view")
        return ""

    client.get("/")
    assert order == [
        "before 1",
        "before 2",
        "view",
        "after 2",
        "after 1",
        "teardown 2",
        "teardown 1",
    ]


def test_before_request_returning_a_value_skips_the_view(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []

    @app.before_request
    def gate() -> tuple[str, int] | None:
        order.append("gate")
        if request.args.get("block"):
            return "blocked", 403
        return None

    @app.before_request
    def later() -> None:
        order.append("later")

    @app.after_request
    def after(response: Response) -> Response:
        order.append("after")
        return response

    @app.route("/")
    def view() -> str:
        order.append("view")
        return "ok"

    response = client.get("/?block=1")
    assert (response.status_code, response.data) == (403, b"blocked")
    assert order == ["gate", "after"]
    order.clear()
    assert client.get("/").data == b"ok"
    assert order == ["gate", "later", "view", "after"]


def test_after_request_can_replace_the_response(app: Erlen, client: FlaskClient) -> None:
    @app.after_request
    def replace(response: Response) -> Response:
        return Response("replaced", status=202)

    app.route("/")(lambda: "original")
    response = client.get("/")
    assert (response.status_code, response.data) == (202, b"replaced")


def test_after_request_sees_the_500_response_of_an_unhandled_error(
    app: Erlen, client: FlaskClient
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    calls: list[int] = []

    @app.after_request
    def after(response: Response) -> Response:
        calls.append(response.status_code)
        return response

    @app.route("/")
    def fail() -> str:
        raise RuntimeError

    assert client.get("/").status_code == 500
    assert calls == [500]


def test_after_request_runs_for_handled_errors(app: Erlen, client: FlaskClient) -> None:
    calls: list[int] = []

    @app.after_request
    def after(response: Response) -> Response:
        calls.append(response.status_code)
        return response

    client.get("/missing")
    assert calls == [404]


def test_before_request_error_is_handled_by_error_handlers(app: Erlen, client: FlaskClient) -> None:
    @app.before_request
    def deny() -> None:
        erlen.abort(403)

    app.register_error_handler(403, lambda e: ("no entry", 403))
    app.route("/")(lambda: "view")
    assert client.get("/").data == b"no entry"


def test_g_is_shared_between_hooks_and_the_view(app: Erlen, client: FlaskClient) -> None:
    @app.before_request
    def load() -> None:
        g.user = "ada"

    @app.after_request
    def stamp(response: Response) -> Response:
        response.headers["X-User"] = g.user
        return response

    app.route("/")(lambda: g.user)
    response = client.get("/")
    assert response.data == b"ada"
    assert response.headers["X-User"] == "ada"


def test_blueprint_hooks_wrap_app_hooks(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []
    bp = Blueprint("bp", __name__)
    app.before_request(lambda: order.append("app before"))
    bp.before_request(lambda: order.append("bp before"))

    def app_after(response: Response) -> Response:
        order.append("app after")
        return response

    def bp_after(response: Response) -> Response:
        order.append("bp after")
        return response

    app.after_request(app_after)
    bp.after_request(bp_after)
    app.teardown_request(lambda exc: order.append("app teardown"))
    bp.teardown_request(lambda exc: order.append("bp teardown"))

    @bp.route("/")
    def view() -> str:
        order.append("view")
        return ""

    app.register_blueprint(bp)
    client.get("/")
    assert order == [
        "app before",
        "bp before",
        "view",
        "bp after",
        "app after",
        "bp teardown",
        "app teardown",
    ]


def test_async_hooks_and_views_run(app: Erlen, client: FlaskClient) -> None:
    pytest.importorskip("asgiref")

    @app.before_request
    async def before() -> None:
        g.async_before = True

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-Async"] = "1"
        return response

    @app.route("/")
    async def view() -> str:
        return f"async {g.async_before}"

    @app.errorhandler(KeyError)
    async def handle(e: KeyError) -> tuple[str, int]:
        return "async handler", 400

    @app.route("/fail")
    async def fail() -> str:
        raise KeyError("x")

    response = client.get("/")
    assert response.data == b"async True"
    assert response.headers["X-Async"] == "1"
    assert client.get("/fail").data == b"async handler"


# -- error handlers --------------------------------------------------------------------------


def test_handler_by_status_code(app: Erlen, client: FlaskClient) -> None:
    @app.errorhandler(404)
    def not_found(e: NotFound) -> tuple[str, int]:
        return f"custom 404 for {request.path}", 404

    response = client.get("/nothing/here")
    assert (response.status_code, response.data) == (404, b"custom 404 for /nothing/here")


def test_handler_by_http_exception_class(app: Erlen, client: FlaskClient) -> None:
    app.register_error_handler(Forbidden, lambda e: ("forbidden handler", 403))

    @app.route("/")
    def view() -> str:
        erlen.abort(403)

    assert client.get("/").data == b"forbidden handler"


def test_handler_receives_the_exception(app: Erlen, client: FlaskClient) -> None:
    seen: list[Exception] = []

    class Custom(Exception):
        pass

    error = Custom("details")

    @app.errorhandler(Custom)
    def handle(e: Custom) -> str:
        seen.append(e)
        return str(e)

    @app.route("/")
    def view() -> str:
        raise error

    assert client.get("/").data == b"details"
    assert seen == [error]


def test_handler_for_a_base_class_handles_subclasses(app: Erlen, client: FlaskClient) -> None:
    class Base(Exception):
        pass

    class Child(Base):
        pass

    app.register_error_handler(Base, lambda e: f"base handled {type(e).__name__}")

    @app.route("/")
    def view() -> str:
        raise Child()

    assert client.get("/").data == b"base handled Child"


def test_most_specific_class_handler_wins(app: Erlen, client: FlaskClient) -> None:
    class Base(Exception):
        pass

    class Child(Base):
        pass

    class GrandChild(Child):
        pass

    app.register_error_handler(Base, lambda e: "base")
    app.register_error_handler(Child, lambda e: "child")

    @app.route("/<kind>")
    def fail(kind: str) -> str:
        raise {"base": Base, "grandchild": GrandChild}[kind]()

    assert client.get("/base").data == b"base"
    assert client.get("/grandchild").data == b"child"


def test_code_handler_wins_over_generic_http_exception_handler(
    app: Erlen, client: FlaskClient
) -> None:
    app.register_error_handler(HTTPException, lambda e: (f"generic {e.code}", e.code))
    app.register_error_handler(404, lambda e: ("specific 404", 404))

    @app.route("/forbidden")
    def forbidden() -> str:
        erlen.abort(403)

    assert client.get("/missing").data == b"specific 404"
    assert client.get("/forbidden").data == b"generic 403"


def test_exception_handler_also_catches_http_exceptions(app: Erlen, client: FlaskClient) -> None:
    app.register_error_handler(Exception, lambda e: (f"caught {type(e).__name__}", 418))
    response = client.get("/missing")
    assert (response.status_code, response.data) == (418, b"caught NotFound")


def test_custom_http_exception_subclass_uses_its_code_handler(
    app: Erlen, client: FlaskClient
) -> None:
    class Gone(NotFound):
        description = "It was here."

    app.register_error_handler(404, lambda e: (f"404 handler: {e.description}", 404))

    @app.route("/")
    def view() -> str:
        raise Gone()

    assert client.get("/").data == b"404 handler: It was here."


def test_custom_status_code_exception(app: Erlen, client: FlaskClient) -> None:
    class PaymentRequired(HTTPException):
        code = 402
        description = "Pay first."

    app.register_error_handler(PaymentRequired, lambda e: (e.description, e.code))

    @app.route("/")
    def view() -> str:
        raise PaymentRequired()

    response = client.get("/")
    assert (response.status_code, response.data) == (402, b"Pay first.")


def test_unhandled_http_exception_renders_werkzeugs_page(app: Erlen, client: FlaskClient) -> None:
    response = client.get("/missing")
    assert response.status_code == 404
    assert b"<title>404 Not Found</title>" in response.data


def test_handler_returning_any_response_type(app: Erlen, client: FlaskClient) -> None:
    app.register_error_handler(404, lambda e: {"error": "not found"})
    response = client.get("/missing")
    # The handler's return value is a response like any other: its status is 200 unless set.
    assert response.status_code == 200
    assert response.get_json() == {"error": "not found"}


def test_error_in_an_error_handler_gives_500(app: Erlen, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(404)
    def broken(e: NotFound) -> str:
        raise RuntimeError("handler failed")

    assert client.get("/missing").status_code == 500


@pytest.mark.parametrize("code", [0, 200, 302, 600, 999])
def test_handler_for_a_non_error_code_is_rejected(app: Erlen, code: int) -> None:
    with pytest.raises(ValueError, match=f"'{code}' is not a recognized HTTP error code"):
        app.register_error_handler(code, lambda e: "")


def test_handler_for_an_exception_instance_is_rejected(app: Erlen) -> None:
    with pytest.raises(TypeError, match="is an instance, not a class"):
        app.register_error_handler(ValueError(), lambda e: "")  # type: ignore[arg-type]


def test_handler_for_a_non_exception_class_is_rejected(app: Erlen) -> None:
    with pytest.raises(ValueError, match="'int' is not a subclass of Exception"):
        app.register_error_handler(int, lambda e: "")  # type: ignore[arg-type]


def test_errorhandler_decorator_returns_the_function(app: Erlen) -> None:
    def handle(e: Exception) -> str:
        return ""

    assert app.errorhandler(500)(handle) is handle
    assert app.errorhandler(KeyError)(handle) is handle


def test_key_error_from_form_is_400(app: Erlen, client: FlaskClient) -> None:
    app.route("/", methods=["POST"])(lambda: request.form["missing"])
    response = client.post("/", data={"other": "x"})
    assert response.status_code == 400
    assert b"missing" not in response.data


def test_key_error_from_form_names_the_key_in_debug(app: Erlen, client: FlaskClient) -> None:
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    app.route("/", methods=["POST"])(lambda: request.form["missing"])
    response = client.post("/", data={"other": "x"})
    assert response.status_code == 400
    assert b"KeyError: &#39;missing&#39;" in response.data


def test_trap_bad_request_errors_raises_them(app: Erlen, client: FlaskClient) -> None:
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True

    @app.route("/")
    def view() -> str:
        raise BadRequest()

    with pytest.raises(BadRequest):
        client.get("/")


def test_bad_request_key_error_is_trapped_in_debug_mode(app: Erlen, client: FlaskClient) -> None:
    app.debug = True
    app.route("/", methods=["POST"])(lambda: request.form["missing"])
    with pytest.raises(BadRequestKeyError):
        client.post("/", data={})


def test_trap_http_exceptions_raises_every_http_error(app: Erlen, client: FlaskClient) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    with pytest.raises(NotFound):
        client.get("/missing")


# -- unhandled exceptions: propagate or 500 ------------------------------------------------


@pytest.fixture
def failing_app(app: Erlen) -> Erlen:
    @app.route("/")
    def fail() -> str:
        raise ZeroDivisionError("the original")

    app.testing = False
    return app


def test_unhandled_exception_is_500_outside_testing_and_debug(failing_app: Erlen) -> None:
    response = failing_app.test_client().get("/")
    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    assert b"the original" not in response.data


@pytest.mark.parametrize(
    ("config", "propagates"),
    [
        ({"TESTING": True}, True),
        ({"DEBUG": True}, True),
        ({"PROPAGATE_EXCEPTIONS": True}, True),
        ({"TESTING": True, "PROPAGATE_EXCEPTIONS": False}, False),
        ({"DEBUG": True, "PROPAGATE_EXCEPTIONS": False}, False),
        ({}, False),
    ],
)
def test_propagate_exceptions(
    failing_app: Erlen, config: dict[str, t.Any], propagates: bool
) -> None:
    failing_app.config.update(config)
    client = failing_app.test_client()
    if propagates:
        with pytest.raises(ZeroDivisionError, match="the original"):
            client.get("/")
    else:
        assert client.get("/").status_code == 500


def test_500_handler_gets_the_original_exception(failing_app: Erlen) -> None:
    seen: list[t.Any] = []

    @failing_app.errorhandler(500)
    def server_error(e: InternalServerError) -> tuple[str, int]:
        seen.append(e)
        return f"sorry: {type(e.original_exception).__name__}", 500

    response = failing_app.test_client().get("/")
    assert (response.status_code, response.data) == (500, b"sorry: ZeroDivisionError")
    assert isinstance(seen[0], InternalServerError)
    assert str(seen[0].original_exception) == "the original"


def test_500_handler_registered_by_class(failing_app: Erlen) -> None:
    failing_app.register_error_handler(
        InternalServerError, lambda e: (repr(e.original_exception), 500)
    )
    assert failing_app.test_client().get("/").data == b"ZeroDivisionError('the original')"


def test_aborting_with_500_gives_the_handler_no_original_exception(app: Erlen) -> None:
    app.testing = False
    app.register_error_handler(500, lambda e: (repr(e.original_exception), 500))

    @app.route("/")
    def view() -> str:
        erlen.abort(500)

    assert app.test_client().get("/").data == b"None"


def test_exception_handler_is_tried_before_the_500_handler(failing_app: Erlen) -> None:
    failing_app.register_error_handler(ArithmeticError, lambda e: ("arithmetic", 400))
    failing_app.register_error_handler(500, lambda e: ("server error", 500))
    assert failing_app.test_client().get("/").data == b"arithmetic"


def test_unhandled_exception_is_logged_with_path_and_method(
    failing_app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=failing_app.logger.name):
        failing_app.test_client().get("/?q=1")
    records = [r for r in caplog.records if r.name == failing_app.logger.name]
    assert [r.getMessage() for r in records] == ["Exception on / [GET]"]
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ZeroDivisionError


def test_error_in_after_request_while_handling_an_error_still_sends_500(
    failing_app: Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    @failing_app.after_request
    def broken(response: Response) -> Response:
        raise RuntimeError("after_request broke")

    with caplog.at_level(logging.ERROR, logger=failing_app.logger.name):
        response = failing_app.test_client().get("/")
    assert response.status_code == 500
    messages = [r.getMessage() for r in caplog.records]
    assert "Request finalizing failed with an error while handling an error" in messages


# -- signals ---------------------------------------------------------------------------------

ALL_SIGNALS = [
    signals.request_started,
    signals.request_finished,
    signals.request_tearing_down,
    signals.got_request_exception,
    signals.appcontext_pushed,
    signals.appcontext_popped,
    signals.appcontext_tearing_down,
    signals.template_rendered,
    signals.before_render_template,
    signals.message_flashed,
]


@contextmanager
def record(signal: Signal, sender: t.Any) -> Iterator[list[tuple[t.Any, dict[str, t.Any]]]]:
    """Collect ``(sender, kwargs)`` for each send of ``signal`` from ``sender``."""
    calls: list[tuple[t.Any, dict[str, t.Any]]] = []

    def receiver(sender: t.Any, **kwargs: t.Any) -> None:
        calls.append((sender, kwargs))

    with signal.connected_to(receiver, sender):
        yield calls


def _exercise(app: Erlen) -> None:
    """Make one request that touches every signal."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/")
    def index() -> str:
        erlen.flash("hello")
        return erlen.render_template_string("{{ 1 + 1 }}")

    @app.route("/fail")
    def fail() -> str:
        raise ValueError("boom")

    client = app.test_client()
    client.get("/")
    client.get("/fail")


def test_unconnected_signals_are_never_sent(app: Erlen, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    for signal in ALL_SIGNALS:
        assert not signal.receivers, f"{signal.name} has a leftover receiver"

        def fake_send(*args: t.Any, _name: str = signal.name, **kwargs: t.Any) -> list[t.Any]:
            sent.append(_name)
            return []

        monkeypatch.setattr(signal, "send", fake_send)
    _exercise(app)
    assert sent == []


def test_connected_signals_are_sent(app: Erlen, monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[str] = []
    receivers = []
    for signal in ALL_SIGNALS:

        def receiver(sender: t.Any, _name: str = signal.name, **kwargs: t.Any) -> None:
            received.append(_name)

        receivers.append(receiver)  # blinker holds weak references
        signal.connect(receiver, app)
    try:
        _exercise(app)
    finally:
        for signal, receiver in zip(ALL_SIGNALS, receivers, strict=True):
            signal.disconnect(receiver, app)
    assert set(received) == {signal.name for signal in ALL_SIGNALS}


def test_request_started_and_finished(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: "body")
    with record(signals.request_started, app) as started:
        with record(signals.request_finished, app) as finished:
            client.get("/")
    assert started == [(app, {})]
    assert len(finished) == 1
    sender, kwargs = finished[0]
    assert sender is app
    assert set(kwargs) == {"response"}
    assert kwargs["response"].data == b"body"


def test_request_started_is_sent_before_before_request(app: Erlen, client: FlaskClient) -> None:
    order: list[str] = []
    app.before_request(lambda: order.append("before_request"))
    app.route("/")(lambda: "")

    def started(sender: Erlen, **kwargs: t.Any) -> None:
        order.append("request_started")

    with signals.request_started.connected_to(started, app):
        client.get("/")
    assert order == ["request_started", "before_request"]


def test_request_tearing_down_gets_the_exception(app: Erlen, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    error = ValueError("boom")

    @app.route("/fail")
    def fail() -> str:
        raise error

    app.route("/ok")(lambda: "")
    with record(signals.request_tearing_down, app) as calls:
        client.get("/ok")
        client.get("/fail")
    assert calls == [(app, {"exc": None}), (app, {"exc": error})]


def test_got_request_exception_only_for_unhandled_errors(app: Erlen, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    error = ValueError("unhandled")

    @app.route("/unhandled")
    def unhandled() -> str:
        raise error

    @app.route("/handled")
    def handled() -> str:
        raise KeyError("handled")

    app.register_error_handler(KeyError, lambda e: ("ok", 400))
    with record(signals.got_request_exception, app) as calls:
        client.get("/handled")
        client.get("/missing")
        client.get("/unhandled")
    assert calls == [(app, {"exception": error})]


def test_got_request_exception_is_sent_even_when_propagating(
    app: Erlen, client: FlaskClient
) -> None:
    error = ValueError("propagated")

    @app.route("/")
    def fail() -> str:
        raise error

    with record(signals.got_request_exception, app) as calls:
        with pytest.raises(ValueError):
            client.get("/")
    assert calls == [(app, {"exception": error})]


def test_appcontext_signals(app: Erlen) -> None:
    with record(signals.appcontext_pushed, app) as pushed:
        with record(signals.appcontext_popped, app) as popped:
            with record(signals.appcontext_tearing_down, app) as tearing_down:
                with app.app_context():
                    assert pushed == [(app, {})]
                    assert popped == []
    assert popped == [(app, {})]
    assert tearing_down == [(app, {"exc": None})]


def test_appcontext_pushed_can_set_up_g(app: Erlen, client: FlaskClient) -> None:
    def set_user(sender: Erlen, **kwargs: t.Any) -> None:
        g.user = "from signal"

    app.route("/")(lambda: g.user)
    with signals.appcontext_pushed.connected_to(set_user, app):
        assert client.get("/").data == b"from signal"


def test_signals_from_another_app_are_not_received(app: Erlen) -> None:
    other = Erlen("other")
    with record(signals.appcontext_pushed, app) as calls:
        with other.app_context():
            pass
    assert calls == []


def test_message_flashed_signal(app: Erlen, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        erlen.flash("saved", "info")
        return ""

    with record(signals.message_flashed, app) as calls:
        client.get("/")
    assert calls == [(app, {"message": "saved", "category": "info"})]


def test_template_signals(app: Erlen, client: FlaskClient) -> None:
    app.route("/")(lambda: erlen.render_template_string("{{ word }}", word="hi"))
    with record(signals.before_render_template, app) as before:
        with record(signals.template_rendered, app) as rendered:
            assert client.get("/").data == b"hi"
    for calls in (before, rendered):
        assert len(calls) == 1
        sender, kwargs = calls[0]
        assert sender is app
        assert set(kwargs) == {"template", "context"}
        assert kwargs["context"]["word"] == "hi"
