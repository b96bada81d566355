"""Every shortcut in erlen._fastpaths gives way to an override, and one switch turns them all off.

The override tests pass with the shortcuts on and off (``make test-framework-slow-paths``
runs this suite with ``ERLEN_NO_FAST_PATHS=1``): with them on, they catch a shortcut that
skips a method a subclass replaced.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map
from werkzeug.routing import MapAdapter

import erlen
from erlen import _fastpaths
from erlen.json.provider import DefaultJSONProvider
from erlen.json.tag import TaggedJSONSerializer
from erlen.sessions import SecureCookieSession
from erlen.sessions import SecureCookieSessionInterface
from erlen.sessions import SessionMixin
from erlen.wrappers import Request
from erlen.wrappers import Response

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def _owner(path: _fastpaths.FastPath) -> type:
    module, _, name = path.owner.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _decision(path: _fastpaths.FastPath, cls: type) -> bool:
    """The decision erlen made for ``cls``: stored on the class, or kept for it."""
    if path.owner.startswith("erlen."):
        return getattr(cls, path.attribute)  # type: ignore[no-any-return]
    return _fastpaths.taken_by(path, cls)


# -- the decisions ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", _fastpaths.ALL, ids=lambda path: path.name)
def test_each_fast_path_is_documented_where_it_is_decided(path: _fastpaths.FastPath) -> None:
    assert f"``{path.name}``" in (_fastpaths.__doc__ or "")
    for member in path.skips:
        assert f"``{member}``" in (_fastpaths.__doc__ or "")


@pytest.mark.parametrize("path", _fastpaths.ALL, ids=lambda path: path.name)
def test_an_owner_class_and_a_plain_subclass_take_the_fast_path_unless_switched_off(
    path: _fastpaths.FastPath,
) -> None:
    owner = _owner(path)
    subclass = type("Plain", (owner,), {})
    assert _decision(path, owner) is _fastpaths.ENABLED
    assert _decision(path, subclass) is _fastpaths.ENABLED


CASES = [(path, member) for path in _fastpaths.ALL for member in path.skips]


@pytest.mark.parametrize(
    ("path", "member"), CASES, ids=[f"{path.name}-{member}" for path, member in CASES]
)
def test_a_subclass_overriding_a_member_the_fast_path_skips_never_takes_it(
    path: _fastpaths.FastPath, member: str
) -> None:
    subclass = type("Overriding", (_owner(path),), {member: property(lambda self: None)})
    assert _decision(path, subclass) is False


def test_a_response_class_with_another_default_status_builds_its_own_status() -> None:
    class Created(Response):
        default_status = 201

    assert Created._fast_bare_body_response is False
    response = Created("made")
    assert response.status_code == 201
    assert response.get_data() == b"made"


def test_the_fast_paths_are_listed_in_the_benchmarks_document() -> None:
    text = DOCS.read_text()
    assert "erlen/src/erlen/_fastpaths.py" in text
    assert "ERLEN_NO_FAST_PATHS" in text
    assert "test-framework-slow-paths" in text


# -- the switch ------------------------------------------------------------------------------

_PROBE = """
import importlib, json
import erlen
from erlen import _fastpaths

decisions = {}
for path in _fastpaths.ALL:
    module, _, name = path.owner.rpartition(".")
    owner = getattr(importlib.import_module(module), name)
    if path.owner.startswith("erlen."):
        decisions[path.name] = getattr(owner, path.attribute)
    else:
        decisions[path.name] = _fastpaths.taken_by(path, owner)

app = erlen.Erlen("probe")
app.secret_key = "k"
app.add_url_rule("/", view_func=lambda: {"hello": erlen.request.args["who"]})
response = app.test_client().get("/?who=you")
print(json.dumps({
    "decisions": decisions,
    "app_shares_adapter": app._fast_shared_url_adapter,
    "body": response.get_json(),
}))
"""


def _probe(switch: str | None) -> dict[str, t.Any]:
    env = {key: value for key, value in os.environ.items() if key != "ERLEN_NO_FAST_PATHS"}
    if switch is not None:
        env["ERLEN_NO_FAST_PATHS"] = switch
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("switch", ["1", "yes"])
def test_the_switch_turns_every_fast_path_off_and_requests_still_work(switch: str) -> None:
    result = _probe(switch)
    assert result["decisions"] == {path.name: False for path in _fastpaths.ALL}
    assert result["app_shares_adapter"] is False
    assert result["body"] == {"hello": "you"}


@pytest.mark.parametrize("switch", [None, "", "0", "false", "Off"])
def test_without_the_switch_every_fast_path_is_on(switch: str | None) -> None:
    result = _probe(switch)
    assert result["decisions"] == {path.name: True for path in _fastpaths.ALL}
    assert result["app_shares_adapter"] is True
    assert result["body"] == {"hello": "you"}


# -- overrides win, on every path ------------------------------------------------------------


def test_response_set_data_override_is_used_for_a_bare_string(app: erlen.Erlen) -> None:
    class Shouting(Response):
        def set_data(self, value: str | bytes) -> None:
            super().set_data(value.upper())

    app.response_class = Shouting
    app.add_url_rule("/", view_func=lambda: "quiet")
    response = app.test_client().get("/")
    assert response.data == b"QUIET"
    assert response.headers["Content-Length"] == "5"


def test_response_status_override_is_used_for_a_bare_string(app: erlen.Erlen) -> None:
    class Teapot(Response):
        @property
        def status(self) -> str:
            return self._status

        @status.setter
        def status(self, value: t.Any) -> None:
            self._status = "418 I'M A TEAPOT"
            self._status_code = 418

    assert Teapot("tea").status_code == 418


def _raw_call(app: erlen.Erlen, method: str = "GET") -> tuple[str, list[tuple[str, str]], bytes]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/", method=method).get_environ()
    seen: list[t.Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        seen.extend((status, headers))

    body_iter = app(environ, start_response)
    try:
        body = b"".join(body_iter)
    finally:
        close = getattr(body_iter, "close", None)
        if close is not None:
            close()
    return seen[0], seen[1], body


@pytest.mark.parametrize("member", ["get_wsgi_headers", "get_wsgi_response", "get_app_iter"])
def test_response_wsgi_hooks_are_called_for_a_buffered_body(app: erlen.Erlen, member: str) -> None:
    calls: list[str] = []

    def hook(self: Response, environ: WSGIEnvironment) -> t.Any:
        calls.append(member)
        return getattr(Response, member)(self, environ)

    app.response_class = type("Hooked", (Response,), {member: hook})
    app.add_url_rule("/", view_func=lambda: "body")
    status, _, body = _raw_call(app)
    assert (status, body) == ("200 OK", b"body")
    assert member in calls


def test_response_iter_encoded_override_is_used_for_a_buffered_body(app: erlen.Erlen) -> None:
    class Framed(Response):
        def iter_encoded(self) -> t.Iterator[bytes]:
            for chunk in super().iter_encoded():
                yield b"[" + chunk + b"]"

    app.response_class = Framed
    app.add_url_rule("/", view_func=lambda: "body")
    assert _raw_call(app)[2] == b"[body]"


def test_response_close_override_runs(app: erlen.Erlen) -> None:
    closed: list[bool] = []

    class Tracked(Response):
        def close(self) -> None:
            closed.append(True)
            super().close()

    app.response_class = Tracked
    app.add_url_rule("/", view_func=lambda: "body")
    _raw_call(app)
    assert closed == [True]


def test_request_stream_override_is_read_by_get_data(app: erlen.Erlen) -> None:
    class Base64Body(Request):
        @property
        def stream(self) -> t.IO[bytes]:
            raw = self.environ["wsgi.input"].read(int(self.environ["CONTENT_LENGTH"]))
            return io.BytesIO(base64.b64decode(raw))

    app.request_class = Base64Body
    app.add_url_rule("/", view_func=lambda: erlen.request.get_data(), methods=["POST"])
    response = app.test_client().post("/", data=base64.b64encode(b"decoded"))
    assert response.data == b"decoded"


def test_request_close_override_runs_when_the_context_pops(app: erlen.Erlen) -> None:
    closed: list[bool] = []

    class Tracked(Request):
        def close(self) -> None:
            closed.append(True)
            super().close()

    app.request_class = Tracked
    app.add_url_rule("/", view_func=lambda: "ok")
    app.test_client().get("/")
    assert closed == [True]


def test_app_create_url_adapter_override_matches_every_request() -> None:
    calls: list[str] = []

    class Counting(erlen.Erlen):
        def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
            if request is not None:
                calls.append(request.path)
            return super().create_url_adapter(request)

    app = Counting("counting")
    app.add_url_rule("/<name>", view_func=lambda name: name)
    client = app.test_client()
    assert client.get("/one").text == "one"
    assert client.get("/two").text == "two"
    assert calls == ["/one", "/two"]


def test_app_ensure_sync_override_is_asked_on_every_request() -> None:
    calls: list[str] = []

    class Counting(erlen.Erlen):
        def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
            calls.append(func.__name__)
            return super().ensure_sync(func)

    app = Counting("counting")

    @app.route("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    client.get("/")
    client.get("/")
    assert calls.count("index") == 2


def test_url_map_bind_to_environ_override_binds_every_request() -> None:
    calls: list[str] = []

    class Counting(Map):
        def bind_to_environ(self, environ: t.Any, *args: t.Any, **kwargs: t.Any) -> MapAdapter:
            calls.append(environ["PATH_INFO"])
            return super().bind_to_environ(environ, *args, **kwargs)

    class App(erlen.Erlen):
        url_map_class = Counting

    app = App("counting")
    app.add_url_rule("/<name>", view_func=lambda name: erlen.url_for(".index", name=name) + "!")
    app.add_url_rule("/i/<name>", endpoint="index", view_func=lambda name: name)
    client = app.test_client()
    assert client.get("/one").text == "/i/one!"
    assert client.get("/two").text == "/i/two!"
    assert calls == ["/one", "/two"]


def test_error_description_override_is_rendered_for_every_error(app: erlen.Erlen) -> None:
    class WhereNotFound(NotFound):
        def get_description(self, environ: t.Any = None, scope: t.Any = None) -> str:
            return f"<p>Nothing at {environ['PATH_INFO']}.</p>"

    app.add_url_rule("/<name>", view_func=lambda name: WhereNotFound())
    client = app.test_client()
    assert "Nothing at /one." in client.get("/one").text
    assert "Nothing at /two." in client.get("/two").text


def test_error_name_override_is_rendered(app: erlen.Erlen) -> None:
    class Gone(NotFound):
        @property
        def name(self) -> str:
            return "Gone Fishing"

    app.add_url_rule("/", view_func=lambda: Gone())
    assert "<title>404 Gone Fishing</title>" in app.test_client().get("/").text


def test_error_call_override_is_used_when_returned_as_a_response(app: erlen.Erlen) -> None:
    class Teapot(HTTPException):
        code = 418

        def __call__(self, environ: t.Any, start_response: t.Any) -> t.Iterable[bytes]:
            start_response("418 I'M A TEAPOT", [("Content-Type", "text/plain")])
            return [b"short and stout"]

    app.add_url_rule("/", view_func=lambda: Teapot())
    response = app.test_client().get("/")
    assert (response.status_code, response.data) == (418, b"short and stout")


def test_cookie_session_subclass_overriding_open_session_opens_at_push(app: erlen.Erlen) -> None:
    opened: list[str] = []

    class Recording(SecureCookieSessionInterface):
        def open_session(self, app: t.Any, request: t.Any) -> SecureCookieSession | None:
            opened.append(request.path)
            return super().open_session(app, request)

    app.session_interface = Recording()
    app.add_url_rule("/", view_func=lambda: "never touches the session")
    app.test_client().get("/")
    assert opened == ["/"]


def test_cookie_session_subclass_overriding_save_session_is_always_saved(
    app: erlen.Erlen,
) -> None:
    saved: list[bool] = []

    class Recording(SecureCookieSessionInterface):
        def save_session(self, app: t.Any, session: SessionMixin, response: t.Any) -> None:
            saved.append(True)
            super().save_session(app, session, response)

    app.session_interface = Recording()
    app.add_url_rule("/", view_func=lambda: "never touches the session")
    app.test_client().get("/")
    assert saved == [True]


def test_should_set_cookie_override_is_asked_when_the_view_never_touched_the_session(
    app: erlen.Erlen,
) -> None:
    class AlwaysRefresh(SecureCookieSessionInterface):
        def should_set_cookie(self, app: t.Any, session: SessionMixin) -> bool:
            return True

    app.session_interface = AlwaysRefresh()
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.add_url_rule("/login", "login", lambda: erlen.session.update(user="ada") or "in")
    app.add_url_rule("/", "index", lambda: "never touches the session")
    client = app.test_client()
    client.get("/login")
    assert "session=" in client.get("/").headers.get("Set-Cookie", "")


def test_signing_serializer_override_is_asked_even_without_a_cookie(app: erlen.Erlen) -> None:
    class Refusing(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: t.Any) -> None:
            return None

    app.session_interface = Refusing()
    app.add_url_rule("/", view_func=lambda: str(erlen.session.get("x", "null session")))
    assert app.test_client().get("/").text == "null session"


def test_json_provider_dumps_override_shapes_responses(app: erlen.Erlen) -> None:
    class Wrapped(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps({"data": obj}, **kwargs)

    app.json = Wrapped(app)
    app.add_url_rule("/", view_func=lambda: {"a": 1})
    assert app.test_client().get("/").get_json() == {"data": {"a": 1}}


def test_tagged_serializer_tag_override_is_used_for_builtin_values() -> None:
    class Upper(TaggedJSONSerializer):
        __slots__ = ()

        def tag(self, value: t.Any) -> t.Any:
            if isinstance(value, str):
                return value.upper()
            return super().tag(value)

    assert json.loads(Upper().dumps({"a": "b"})) == {"a": "B"}
