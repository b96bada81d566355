"""Turning view return values into responses, and the response object's WSGI behaviour.

erlen's :class:`~erlen.Response` takes shortcuts when it is built and when it is called; the
differential tests here run the same scenario through erlen's class and through werkzeug's
and require byte-for-byte identical WSGI output (status line, header list, body, close
callbacks), with and without ``HEAD``.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.exceptions import TooManyRequests
from werkzeug.exceptions import Unauthorized
from werkzeug.test import create_environ
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Response as WerkzeugResponse

import erlen
from erlen import Erlen
from erlen import Response
from erlen.testing import FlaskClient

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


class ReferenceResponse(WerkzeugResponse):
    """werkzeug's response with erlen's (and Flask's) default mimetype: the reference."""

    default_mimetype = "text/html"


WSGIResult = tuple[str, list[tuple[str, str]], bytes, list[str]]


def call_wsgi(response: t.Any, method: str = "GET", events: list[str] | None = None) -> WSGIResult:
    """Call a response as a WSGI app the way a server does: start, iterate, close."""
    environ = create_environ("/", method=method)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        started.append((status, list(headers)))
        return lambda data: None

    app_iter = response(environ, start_response)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    assert len(started) == 1
    status, headers = started[0]
    return status, headers, body, list(events or [])


# -- differential: erlen's Response against werkzeug's -------------------------------------

Scenario = Callable[[type[WerkzeugResponse], list[str]], WerkzeugResponse]


def _body_generator(events: list[str]) -> Iterator[t.Any]:
    try:
        yield b"streamed "
        yield "text"
    finally:
        events.append("generator closed")


def _late_status(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("body")
    response.status_code = 404
    return response


def _late_header(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("body")
    response.headers["X-Late"] = "yes"
    return response


def _late_data(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("short")
    response.set_data("a much longer body than before")
    return response


def _late_data_property(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("short")
    response.data = b"replaced"
    return response


def _length_removed(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("twelve bytes")
    del response.headers["Content-Length"]
    return response


def _body_list_replaced(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("x")
    response.response = [b"first ", b"second"]
    return response


def _close_callback(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("closing")
    response.call_on_close(lambda: events.append("on_close called"))
    return response


def _redirect_location(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("moved", status=302)
    response.headers["Location"] = "/neue/straße?q=ä b"
    return response


def _location_on_200(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    return base("created", headers={"Location": "/items/ü"})


def _content_location(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    return base("here", headers={"Content-Location": "/dokument/ö"})


def _cookie(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    response = base("with cookie")
    response.set_cookie("name", "value", httponly=True)
    return response


def _headers_object(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    return base("x", headers=Headers([("X-One", "1"), ("X-One", "2")]))


def _not_modified(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
    return base(
        "entity",
        status=304,
        headers={"ETag": '"abc"', "Content-Language": "en", "Expires": "0", "Allow": "GET"},
    )


def _subclass(**attrs: t.Any) -> Scenario:
    """A scenario building ``Sub("body")`` where ``Sub`` subclasses the base with ``attrs``."""

    def build(base: type[WerkzeugResponse], events: list[str]) -> WerkzeugResponse:
        namespace = {
            name: (value(events) if getattr(value, "_needs_events", False) else value)
            for name, value in attrs.items()
        }
        sub: type[WerkzeugResponse] = type("Sub", (base,), namespace)
        return sub("body")

    return build


def _with_events(factory: Callable[[list[str]], t.Any]) -> t.Any:
    factory._needs_events = True  # type: ignore[attr-defined]
    return factory


def _get_wsgi_headers_override(events: list[str]) -> t.Any:
    def get_wsgi_headers(self: t.Any, environ: WSGIEnvironment) -> Headers:
        headers = t.cast(Headers, super(type(self), self).get_wsgi_headers(environ))
        headers["X-From-Hook"] = "1"
        return headers

    return get_wsgi_headers


def _get_app_iter_override(events: list[str]) -> t.Any:
    def get_app_iter(self: t.Any, environ: WSGIEnvironment) -> t.Iterable[bytes]:
        events.append("get_app_iter called")
        return [b"<<", *super(type(self), self).get_app_iter(environ), b">>"]

    return get_app_iter


def _close_override(events: list[str]) -> t.Any:
    def close(self: t.Any) -> None:
        events.append("close called")
        super(type(self), self).close()

    return close


def _iter_encoded_override(events: list[str]) -> t.Any:
    def iter_encoded(self: t.Any) -> Iterator[bytes]:
        for chunk in super(type(self), self).iter_encoded():
            yield chunk.upper()

    return iter_encoded


def _get_wsgi_response_override(events: list[str]) -> t.Any:
    def get_wsgi_response(self: t.Any, environ: WSGIEnvironment) -> t.Any:
        app_iter, status, headers = super(type(self), self).get_wsgi_response(environ)
        return app_iter, status, [*headers, ("X-Wsgi-Response", "1")]

    return get_wsgi_response


def _set_data_override(events: list[str]) -> t.Any:
    def set_data(self: t.Any, value: str | bytes) -> None:
        events.append("set_data called")
        if isinstance(value, str):
            value = value.upper()
        super(type(self), self).set_data(value)

    return set_data


SCENARIOS: dict[str, Scenario] = {
    "str": lambda base, events: base("hello"),
    "non-ascii str": lambda base, events: base("grüße ☃"),
    "bytes": lambda base, events: base(b"raw bytes"),
    "bytearray": lambda base, events: base(bytearray(b"mutable")),  # type: ignore[arg-type]
    "empty str": lambda base, events: base(""),
    "no body": lambda base, events: base(),
    "mimetype text/plain": lambda base, events: base("plain", mimetype="text/plain"),
    "mimetype json": lambda base, events: base("{}", mimetype="application/json"),
    "mimetype with charset": lambda base, events: base("x", mimetype="text/html; charset=latin-1"),
    "content_type": lambda base, events: base("a,b", content_type="text/csv; charset=ascii"),
    "headers dict": lambda base, events: base("x", headers={"X-A": "1"}),
    "headers list": lambda base, events: base("x", headers=[("X-A", "1"), ("X-B", "2")]),
    "headers object": _headers_object,
    "content-type in headers": lambda base, events: base(
        "x", headers={"Content-Type": "text/plain"}
    ),
    "explicit content-length": lambda base, events: base("hello", headers={"Content-Length": "5"}),
    "status 201": lambda base, events: base("made", status=201),
    "status string": lambda base, events: base("odd", status="299 CUSTOM THING"),
    "status 204 with body": lambda base, events: base("ignored", status=204),
    "status 304": _not_modified,
    "status 103": lambda base, events: base("early", status=103),
    "status 404": lambda base, events: base("missing", status=404),
    "status 500": lambda base, events: base("broken", status=500),
    "redirect with location": _redirect_location,
    "location on 200": _location_on_200,
    "content-location": _content_location,
    "cookie": _cookie,
    "call_on_close": _close_callback,
    "list of str chunks": lambda base, events: base(["a", "b", "ü"]),
    "list of mixed chunks": lambda base, events: base([b"a", "b"]),  # type: ignore[arg-type]
    "list with bytearray chunk": lambda base, events: base([b"a", bytearray(b"b")]),  # type: ignore[arg-type]
    "tuple body": lambda base, events: base((b"a", b"b")),
    "generator": lambda base, events: base(_body_generator(events)),
    "direct_passthrough": lambda base, events: base(
        iter([b"passed ", b"through"]), direct_passthrough=True
    ),
    "direct_passthrough list": lambda base, events: base(
        [b"passed ", b"through"], direct_passthrough=True
    ),
    "status changed later": _late_status,
    "header added later": _late_header,
    "data set later": _late_data,
    "data property set later": _late_data_property,
    "content-length removed": _length_removed,
    "body list replaced": _body_list_replaced,
    "subclass without auto content-length": _subclass(automatically_set_content_length=False),
    "subclass default_mimetype plain": _subclass(default_mimetype="text/plain"),
    "subclass default_mimetype None": _subclass(default_mimetype=None),
    "subclass default_status 201": _subclass(default_status=201),
    "subclass overriding get_wsgi_headers": _subclass(
        get_wsgi_headers=_with_events(_get_wsgi_headers_override)
    ),
    "subclass overriding get_wsgi_response": _subclass(
        get_wsgi_response=_with_events(_get_wsgi_response_override)
    ),
    "subclass overriding get_app_iter": _subclass(
        get_app_iter=_with_events(_get_app_iter_override)
    ),
    "subclass overriding close": _subclass(close=_with_events(_close_override)),
    "subclass overriding iter_encoded": _subclass(
        iter_encoded=_with_events(_iter_encoded_override)
    ),
    "subclass overriding set_data": _subclass(set_data=_with_events(_set_data_override)),
}


def _erlen_base() -> type[WerkzeugResponse]:
    return Response


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_response_wsgi_output_matches_werkzeug(scenario: str, method: str) -> None:
    build = SCENARIOS[scenario]
    reference_events: list[str] = []
    erlen_events: list[str] = []
    expected = call_wsgi(build(ReferenceResponse, reference_events), method, reference_events)
    actual = call_wsgi(build(_erlen_base(), erlen_events), method, erlen_events)
    assert actual == expected


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_response_attributes_after_construction_match_werkzeug(scenario: str) -> None:
    build = SCENARIOS[scenario]
    reference = build(ReferenceResponse, [])
    response = build(_erlen_base(), [])
    assert response.status == reference.status
    assert response.status_code == reference.status_code
    assert list(response.headers) == list(reference.headers)
    assert response.direct_passthrough == reference.direct_passthrough
    assert response.is_sequence == reference.is_sequence
    if reference.is_sequence and not reference.direct_passthrough:
        assert response.get_data() == reference.get_data()


def test_a_response_can_be_called_twice_with_the_same_output() -> None:
    response = Response("again")
    assert call_wsgi(response) == call_wsgi(response)


def test_returned_body_list_is_not_the_servers_to_keep() -> None:
    # A server or middleware may consume what the app returns; the response must still be
    # usable afterwards (e.g. by an after-the-fact logger reading response.data).
    response = Response("keep me")
    call_wsgi(response)
    assert response.get_data() == b"keep me"
    assert response.headers["Content-Length"] == "7"


def test_response_defaults_to_html_utf8() -> None:
    response = Response("x")
    assert response.mimetype == "text/html"
    assert response.content_type == "text/html; charset=utf-8"
    assert response.status_code == 200


def test_max_cookie_size_comes_from_config_inside_an_app(app: Erlen) -> None:
    assert Response().max_cookie_size == WerkzeugResponse().max_cookie_size
    app.config["MAX_COOKIE_SIZE"] = 80
    with app.app_context():
        assert Response().max_cookie_size == 80


def test_oversized_cookie_warns_with_configured_limit(app: Erlen) -> None:
    app.config["MAX_COOKIE_SIZE"] = 50
    with app.app_context(), pytest.warns(UserWarning, match="cookie is too large"):
        Response().set_cookie("big", "x" * 100)


# -- make_response: every kind of return value ---------------------------------------------


def _get(app: Erlen, view: Callable[[], t.Any], method: str = "GET") -> t.Any:
    app.add_url_rule("/", view_func=view, methods=["GET", "POST"])
    return app.test_client().open("/", method=method)


def test_str_becomes_an_html_body(app: Erlen) -> None:
    response = _get(app, lambda: "héllo")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.data == "héllo".encode()
    assert response.headers["Content-Length"] == str(len("héllo".encode()))


def test_str_subclass_becomes_a_body(app: Erlen) -> None:
    from markupsafe import Markup

    response = _get(app, lambda: Markup("<b>safe</b>"))
    assert response.data == b"<b>safe</b>"
    assert response.content_type == "text/html; charset=utf-8"


def test_bytes_become_the_body_unchanged(app: Erlen) -> None:
    response = _get(app, lambda: b"\x00\xffbinary")
    assert response.data == b"\x00\xffbinary"
    assert response.mimetype == "text/html"


def test_bytearray_becomes_the_body(app: Erlen) -> None:
    response = _get(app, lambda: bytearray(b"array"))
    assert response.data == b"array"


def test_dict_becomes_json(app: Erlen) -> None:
    response = _get(app, lambda: {"a": 1, "b": [True, None]})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"a": 1, "b": [True, None]}


def test_list_becomes_json(app: Erlen) -> None:
    response = _get(app, lambda: [1, "two", {"three": 3}])
    assert response.mimetype == "application/json"
    assert response.get_json() == [1, "two", {"three": 3}]


def test_dict_with_status_and_headers(app: Erlen) -> None:
    response = _get(app, lambda: ({"created": True}, 201, {"Location": "/things/1"}))
    assert response.status_code == 201
    assert response.get_json() == {"created": True}
    assert response.headers["Location"] == "/things/1"
    assert response.mimetype == "application/json"


def test_tuple_with_int_status(app: Erlen) -> None:
    response = _get(app, lambda: ("made", 201))
    assert response.status_code == 201
    assert response.status == "201 CREATED"
    assert response.data == b"made"


def test_tuple_with_string_status(app: Erlen) -> None:
    response = _get(app, lambda: ("odd", "299 MY STATUS"))
    assert response.status == "299 MY STATUS"
    assert response.status_code == 299


def test_tuple_with_unknown_int_status(app: Erlen) -> None:
    response = _get(app, lambda: ("odd", 299))
    assert response.status == "299 UNKNOWN"


def test_tuple_with_headers_dict(app: Erlen) -> None:
    response = _get(app, lambda: ("x", {"X-Thing": "1", "Content-Type": "text/plain"}))
    assert response.status_code == 200
    assert response.headers["X-Thing"] == "1"
    assert response.content_type == "text/plain"


def test_tuple_with_headers_list(app: Erlen) -> None:
    response = _get(app, lambda: ("x", [("X-Multi", "1"), ("X-Multi", "2")]))
    assert response.headers.getlist("X-Multi") == ["1", "2"]


def test_tuple_with_headers_object(app: Erlen) -> None:
    response = _get(app, lambda: ("x", Headers({"X-Obj": "yes"})))
    assert response.headers["X-Obj"] == "yes"


def test_tuple_with_status_and_headers(app: Erlen) -> None:
    response = _get(app, lambda: ("gone", 410, {"X-Reason": "old"}))
    assert response.status_code == 410
    assert response.headers["X-Reason"] == "old"
    assert response.data == b"gone"


def test_tuple_with_status_and_empty_headers(app: Erlen) -> None:
    response = _get(app, lambda: ("x", 202, {}))
    assert response.status_code == 202
    assert response.data == b"x"


def test_response_object_in_tuple_gets_status_and_headers(app: Erlen) -> None:
    response = _get(app, lambda: (Response("r", headers={"X-A": "old"}), 403, {"X-A": "new"}))
    assert response.status_code == 403
    assert response.headers.getlist("X-A") == ["new"]
    assert response.data == b"r"


@pytest.mark.parametrize("value", [(), ("body",), ("body", 200, {}, "extra")])
def test_tuple_of_wrong_size_is_a_type_error(app: Erlen, value: tuple[t.Any, ...]) -> None:
    with pytest.raises(TypeError, match="did not return a valid response tuple"):
        _get(app, lambda: value)


def test_none_is_a_type_error_naming_the_view(app: Erlen) -> None:
    @app.route("/")  # type: ignore[type-var]
    def forgetful() -> None:
        pass

    with pytest.raises(TypeError) as info:
        app.test_client().get("/")
    message = str(info.value)
    assert "'forgetful'" in message
    assert "returned None" in message


def test_none_body_in_tuple_is_a_type_error(app: Erlen) -> None:
    with pytest.raises(TypeError, match="did not return a valid response"):
        _get(app, lambda: (None, 200))


@pytest.mark.parametrize("value", [42, 4.2, object(), {1, 2}, True])
def test_unsupported_type_is_a_type_error_naming_the_type(app: Erlen, value: t.Any) -> None:
    with pytest.raises(TypeError, match=f"it was a {type(value).__name__}"):
        _get(app, lambda: value)


def test_invalid_return_gives_500_when_exceptions_are_not_propagated(app: Erlen) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = _get(app, lambda: 42)
    assert response.status_code == 500


def test_generator_is_streamed_without_content_length(app: Erlen) -> None:
    def generate() -> Iterator[str]:
        yield "chunk one, "
        yield "chunk two"

    response = _get(app, generate)
    assert response.data == b"chunk one, chunk two"
    assert "Content-Length" not in response.headers


def test_generator_with_status_and_headers(app: Erlen) -> None:
    response = _get(app, lambda: ((c for c in ["a", "b"]), 206, {"X-Stream": "1"}))
    assert response.status_code == 206
    assert response.headers["X-Stream"] == "1"
    assert response.data == b"ab"


def test_iterator_of_bytes_is_streamed(app: Erlen) -> None:
    response = _get(app, lambda: iter([b"x", b"y"]))
    assert response.data == b"xy"


def test_generator_is_consumed_lazily_after_the_view_returns(app: Erlen) -> None:
    progress: list[str] = []

    def generate() -> Iterator[bytes]:
        progress.append("started")
        yield b"data"

    app.add_url_rule("/", view_func=lambda: generate())
    started: list[str] = []

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        started.append(status)

    app_iter = app(create_environ("/"), start_response)
    assert started == ["200 OK"]
    assert progress == []
    assert b"".join(app_iter) == b"data"
    assert progress == ["started"]
    app_iter.close()  # type: ignore[attr-defined]


def test_response_instance_is_returned_as_is(app: Erlen) -> None:
    sent: list[Response] = []
    original = Response("mine", status=202, mimetype="text/plain")

    @app.after_request
    def capture(response: Response) -> Response:
        sent.append(response)
        return response

    response = _get(app, lambda: original)
    assert sent == [original]
    assert response.status_code == 202
    assert response.mimetype == "text/plain"


def test_werkzeug_response_is_converted_to_the_app_class(app: Erlen) -> None:
    seen: list[type] = []

    @app.after_request
    def capture(response: Response) -> Response:
        seen.append(type(response))
        return response

    response = _get(app, lambda: WerkzeugResponse("plain werkzeug", status=201))
    assert seen == [Response]
    assert response.status_code == 201
    assert response.data == b"plain werkzeug"


def test_wsgi_callable_is_run(app: Erlen) -> None:
    def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("202 ACCEPTED", [("Content-Type", "text/plain"), ("X-Wsgi", "1")])
        return [b"from ", environ["PATH_INFO"].encode()]

    response = _get(app, lambda: wsgi_app)
    assert response.status_code == 202
    assert response.headers["X-Wsgi"] == "1"
    assert response.data == b"from /"


def test_wsgi_callable_with_status_override(app: Erlen) -> None:
    def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    response = _get(app, lambda: (wsgi_app, 418))
    assert response.status_code == 418


def test_callable_with_wrong_signature_explains_the_valid_return_types(app: Erlen) -> None:
    with pytest.raises(TypeError, match="The view function did not return a valid response"):
        _get(app, lambda: lambda: None)


def test_app_response_class_is_used_for_every_kind_of_body(app: Erlen) -> None:
    class MyResponse(Response):
        pass

    app.response_class = MyResponse
    kinds: list[type] = []

    @app.after_request
    def capture(response: Response) -> Response:
        kinds.append(type(response))
        return response

    bodies: list[t.Any] = ["s", b"b", {"d": 1}, [1], ("t", 201), iter(["i"]), NotFound()]
    for index, body in enumerate(bodies):
        app.add_url_rule(f"/{index}", f"e{index}", lambda body=body: body)
    client = app.test_client()
    for index in range(len(bodies)):
        client.get(f"/{index}")
    assert kinds == [MyResponse] * len(bodies)


def test_make_response_helper_without_arguments_gives_an_empty_response(app: Erlen) -> None:
    with app.test_request_context():
        response = erlen.make_response()
    assert isinstance(response, Response)
    assert response.status_code == 200
    assert response.data == b""


def test_make_response_helper_accepts_view_style_arguments(app: Erlen) -> None:
    with app.test_request_context():
        response = erlen.make_response("body", 404, {"X-H": "v"})
        json_response = erlen.make_response({"k": "v"})
    assert response.status_code == 404
    assert response.headers["X-H"] == "v"
    assert json_response.get_json() == {"k": "v"}


def test_app_make_response_works_without_a_request_for_plain_bodies(app: Erlen) -> None:
    with app.app_context():
        response = app.make_response(("body", 201))
    assert response.status_code == 201


# -- HTTP exceptions used as responses -----------------------------------------------------


def _werkzeug_rendering(exc: HTTPException, method: str = "GET") -> tuple[int, Headers, bytes]:
    """What the exception writes when run as a WSGI app: the reference output."""
    environ = create_environ("/", method=method)
    app_iter, status, headers = run_wsgi_app(exc, environ, buffered=True)
    return int(status.split()[0]), Headers(headers), b"".join(app_iter)


HTTP_EXCEPTIONS: dict[str, Callable[[], HTTPException]] = {
    "not found": NotFound,
    "not found with description": lambda: NotFound("No such <thing>."),
    "forbidden": Forbidden,
    "bad request": BadRequest,
    "method not allowed": lambda: MethodNotAllowed(valid_methods=["GET", "POST"]),
    "unauthorized": lambda: Unauthorized(www_authenticate=None),
    "range not satisfiable": lambda: RequestedRangeNotSatisfiable(length=10),
    "too many requests": lambda: TooManyRequests(retry_after=30),
}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("name", sorted(HTTP_EXCEPTIONS))
def test_returned_http_exception_responds_as_werkzeug_renders_it(
    app: Erlen, name: str, method: str
) -> None:
    make = HTTP_EXCEPTIONS[name]
    app.add_url_rule("/", view_func=lambda: make(), methods=["GET"])
    response = app.test_client().open("/", method=method)
    status, headers, body = _werkzeug_rendering(make(), method)
    assert response.status_code == status
    assert sorted(response.headers.items()) == sorted(headers.items())
    assert response.data == body


@pytest.mark.parametrize("name", sorted(HTTP_EXCEPTIONS))
def test_raised_http_exception_responds_as_werkzeug_renders_it(app: Erlen, name: str) -> None:
    make = HTTP_EXCEPTIONS[name]

    @app.route("/")
    def raiser() -> str:
        raise make()

    response = app.test_client().get("/")
    status, headers, body = _werkzeug_rendering(make())
    assert response.status_code == status
    assert sorted(response.headers.items()) == sorted(headers.items())
    assert response.data == body


def test_returned_http_exception_goes_through_after_request(app: Erlen) -> None:
    @app.after_request
    def stamp(response: Response) -> Response:
        response.headers["X-Stamped"] = "1"
        return response

    response = _get(app, lambda: NotFound())
    assert response.status_code == 404
    assert response.headers["X-Stamped"] == "1"


def test_http_exception_with_its_own_wsgi_call_is_run_as_wsgi(app: Erlen) -> None:
    class Teapot(HTTPException):
        code = 418

        def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
            start_response("418 I'M A TEAPOT", [("X-Custom", "1"), ("Content-Type", "text/plain")])
            return [b"short and stout"]

    response = _get(app, lambda: Teapot())
    assert response.status_code == 418
    assert response.headers["X-Custom"] == "1"
    assert response.data == b"short and stout"


def test_http_exception_with_custom_headers_keeps_them(app: Erlen) -> None:
    class Limited(HTTPException):
        code = 429
        description = "Slow down."

        def get_headers(
            self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
        ) -> list[tuple[str, str]]:
            return [("Content-Type", "text/plain"), ("X-Limit", "10")]

        def get_body(
            self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
        ) -> str:
            return "slow down"

    response = _get(app, lambda: Limited())
    assert response.status_code == 429
    assert response.headers["X-Limit"] == "10"
    assert response.content_type == "text/plain"
    assert response.data == b"slow down"


def test_abort_with_a_response_sends_that_response(app: Erlen) -> None:
    @app.route("/")
    def denied() -> str:
        erlen.abort(Response("custom denial", status=403, headers={"X-Why": "policy"}))

    response = app.test_client().get("/")
    assert response.status_code == 403
    assert response.data == b"custom denial"
    assert response.headers["X-Why"] == "policy"


def test_aborting_with_a_shared_response_never_mutates_it(app: Erlen) -> None:
    # An app may keep one ready-made response to abort with; each request must get its own
    # copy, or after_request hooks (and session cookies) pile up on the shared object and
    # leak from one client's response into the next.
    shared = Response("go away", status=403)

    @app.route("/")
    def denied() -> str:
        erlen.abort(shared)

    @app.after_request
    def count(response: Response) -> Response:
        response.headers.add("X-Count", "1")
        return response

    client = app.test_client()
    for _ in range(3):
        response = client.get("/")
        assert response.status_code == 403
        assert response.headers.getlist("X-Count") == ["1"]
    assert "X-Count" not in shared.headers


def test_aborting_with_a_shared_response_never_leaks_a_session_cookie(app: Erlen) -> None:
    shared = Response("go away", status=403)

    @app.route("/<name>")
    def denied(name: str) -> str:
        erlen.session["user"] = name
        erlen.abort(shared)

    first = app.test_client().get("/alice")
    second = app.test_client(use_cookies=False).get("/bob")
    assert len(first.headers.getlist("Set-Cookie")) == 1
    assert len(second.headers.getlist("Set-Cookie")) == 1
    assert "Set-Cookie" not in shared.headers


def test_routing_redirect_is_sent_as_a_redirect(app: Erlen) -> None:
    @app.route("/folder/")
    def folder() -> str:
        return "folder"

    response = app.test_client().get("/folder?x=1")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/folder/?x=1"


# -- full requests through the app: the fast paths end to end ------------------------------


def _raw_wsgi(app: Erlen, path: str = "/", method: str = "GET") -> WSGIResult:
    environ = create_environ(path, method=method)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        started.append((status, list(headers)))
        return lambda data: None

    app_iter = app(environ, start_response)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return started[0][0], started[0][1], body, []


def test_string_view_on_the_wire(app: Erlen) -> None:
    app.add_url_rule("/", view_func=lambda: "hello wire")
    status, headers, body, _ = _raw_wsgi(app)
    assert status == "200 OK"
    assert headers == [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "10")]
    assert body == b"hello wire"


def test_head_request_has_length_but_no_body_on_the_wire(app: Erlen) -> None:
    app.add_url_rule("/", view_func=lambda: "hello wire")
    status, headers, body, _ = _raw_wsgi(app, method="HEAD")
    assert status == "200 OK"
    assert ("Content-Length", "10") in headers
    assert body == b""


def test_close_callbacks_run_when_the_server_closes_the_body(app: Erlen) -> None:
    events: list[str] = []

    @app.route("/")
    def index() -> Response:
        response = Response("bye")
        response.call_on_close(lambda: events.append("closed"))
        return response

    _raw_wsgi(app)
    assert events == ["closed"]


def test_app_response_subclass_close_runs_when_the_server_closes_the_body(app: Erlen) -> None:
    events: list[str] = []

    class Tracked(Response):
        def close(self) -> None:
            events.append("closed")
            super().close()

    app.response_class = Tracked
    app.add_url_rule("/", view_func=lambda: "tracked")
    _raw_wsgi(app)
    assert events == ["closed"]


def test_streamed_body_is_closed_by_the_server(app: Erlen) -> None:
    events: list[str] = []

    def generate() -> Iterator[bytes]:
        try:
            yield b"one"
            yield b"two"
        finally:
            events.append("generator closed")

    app.add_url_rule("/", view_func=lambda: generate())
    status, headers, body, _ = _raw_wsgi(app)
    assert body == b"onetwo"
    assert events == ["generator closed"]


def test_client_sees_same_response_as_a_raw_server(app: Erlen, client: FlaskClient) -> None:
    app.add_url_rule("/", view_func=lambda: ("x", 201, {"X-Y": "z"}))
    status, headers, body, _ = _raw_wsgi(app)
    response = client.get("/")
    assert response.status == status
    assert list(response.headers) == headers
    assert response.data == body
