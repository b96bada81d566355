"""Behaviour of erlen.helpers: responses, redirects, flashing, files, streaming, root paths."""

from __future__ import annotations

import io
import os
import sys
import typing as t
from pathlib import Path

import pytest
from werkzeug.exceptions import Aborter
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response as WerkzeugResponse

import erlen
from erlen import helpers
from erlen.globals import _cv_request
from erlen.helpers import _split_blueprint_path
from erlen.helpers import get_debug_flag
from erlen.helpers import get_load_dotenv
from erlen.helpers import get_root_path
from erlen.signals import message_flashed

if t.TYPE_CHECKING:
    from erlen import Erlen


@pytest.fixture
def app(tmp_path: Path) -> Erlen:
    (tmp_path / "templates").mkdir()
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("hello from a file\n")
    (tmp_path / "templates" / "_macros.html").write_text(
        "{% macro greet(name) %}Hi {{ name }}!{% endmacro %}{% set answer = 42 %}"
    )
    app = erlen.Erlen("helpers_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="helpers secret")
    return app


# Environment flags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("No", False),
        ("1", True),
        ("true", True),
        ("yes", True),
        ("anything", True),
    ],
)
def test_debug_flag_follows_flask_debug_env(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("FLASK_DEBUG", raising=False)
    else:
        monkeypatch.setenv("FLASK_DEBUG", value)
    assert get_debug_flag() is expected


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        (None, True, True),
        (None, False, False),
        ("", True, True),
        ("1", True, False),
        ("yes", True, False),
        ("0", False, True),
        ("false", False, True),
        ("No", False, True),
    ],
)
def test_dotenv_loading_is_skipped_by_flask_skip_dotenv(
    monkeypatch: pytest.MonkeyPatch, value: str | None, default: bool, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("FLASK_SKIP_DOTENV", raising=False)
    else:
        monkeypatch.setenv("FLASK_SKIP_DOTENV", value)
    assert get_load_dotenv(default) is expected


# Blueprint names and root paths


def test_blueprint_path_lists_name_then_each_parent() -> None:
    assert _split_blueprint_path("a.b.c") == ["a.b.c", "a.b", "a"]
    assert _split_blueprint_path("single") == ["single"]


def test_blueprint_path_is_cached() -> None:
    assert _split_blueprint_path("x.y") is _split_blueprint_path("x.y")


def test_root_path_of_imported_module_is_its_folder() -> None:
    assert get_root_path(__name__) == os.path.dirname(os.path.abspath(__file__))


def test_root_path_of_package_is_the_package_folder() -> None:
    assert get_root_path("erlen") == os.path.dirname(os.path.abspath(helpers.__file__))


def test_root_path_of_unknown_module_is_cwd() -> None:
    assert get_root_path("no_such_module_anywhere_xyz") == os.getcwd()


def test_root_path_does_not_import_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "would_explode.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_root_path("would_explode") == str(tmp_path)
    assert "would_explode" not in sys.modules


# Redirect and abort


def test_redirect_without_app_uses_werkzeug() -> None:
    response = helpers.redirect("https://example.org/x", 307)
    assert response.status_code == 307
    assert response.location == "https://example.org/x"


def test_redirect_without_app_accepts_response_class() -> None:
    class Custom(WerkzeugResponse):
        pass

    assert isinstance(helpers.redirect("/x", Response=Custom), Custom)


def test_redirect_with_app_uses_app_redirect(app: Erlen) -> None:
    calls: list[tuple[str, int]] = []

    def fake_redirect(location: str, code: int = 302) -> WerkzeugResponse:
        calls.append((location, code))
        return WerkzeugResponse("redirected", status=code)

    app.redirect = fake_redirect  # type: ignore[method-assign]
    with app.app_context():
        response = helpers.redirect("/elsewhere", 301)
    assert calls == [("/elsewhere", 301)]
    assert response.status_code == 301


def test_abort_without_app_raises_werkzeug_exception() -> None:
    with pytest.raises(Unauthorized):
        helpers.abort(401)
    with pytest.raises(LookupError):
        helpers.abort(999)


def test_abort_with_app_uses_app_aborter(app: Erlen) -> None:
    class Teapot999(HTTPException):
        code = 999

    assert isinstance(app.aborter, Aborter)
    app.aborter.mapping[999] = Teapot999
    with app.app_context(), pytest.raises(Teapot999):
        helpers.abort(999)


def test_abort_with_a_response_raises_it(app: Erlen) -> None:
    response = WerkzeugResponse("gone", status=410)
    with app.app_context(), pytest.raises(HTTPException) as info:
        helpers.abort(response)
    assert info.value.get_response() is response


# make_response, url_for, template attributes


def test_make_response_without_arguments_is_empty_ok(app: Erlen) -> None:
    with app.test_request_context():
        response = helpers.make_response()
    assert isinstance(response, app.response_class)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data() == b""


def test_make_response_accepts_view_return_values(app: Erlen) -> None:
    with app.test_request_context():
        plain = helpers.make_response("hi")
        with_status = helpers.make_response("missing", 404)
        with_headers = helpers.make_response("made", 201, {"X-Thing": "yes"})
        from_dict = helpers.make_response({"a": 1})
    assert plain.get_data() == b"hi"
    assert with_status.status_code == 404
    assert with_headers.status_code == 201
    assert with_headers.headers["X-Thing"] == "yes"
    assert from_dict.is_json
    assert from_dict.get_json() == {"a": 1}


def test_url_for_builds_urls_in_request(app: Erlen) -> None:
    app.add_url_rule("/items/<int:item>", "item", lambda item: str(item))
    with app.test_request_context():
        assert helpers.url_for("item", item=3) == "/items/3"
        assert helpers.url_for("item", item=3, _anchor="a b") == "/items/3#a%20b"
        assert helpers.url_for("item", item=3, q="x") == "/items/3?q=x"
        assert helpers.url_for("item", item=3, _external=True) == "http://localhost/items/3"
        assert helpers.url_for("item", item=3, _scheme="https") == "https://localhost/items/3"


def test_url_for_delegates_to_app(app: Erlen) -> None:
    seen: dict[str, t.Any] = {}

    def fake_url_for(endpoint: str, **values: t.Any) -> str:
        seen.update(values, endpoint=endpoint)
        return "/fake"

    app.url_for = fake_url_for  # type: ignore[method-assign]
    with app.app_context():
        assert helpers.url_for("thing", _method="POST", x=1) == "/fake"
    assert seen["endpoint"] == "thing"
    assert seen["_method"] == "POST"
    assert seen["x"] == 1


def test_url_for_outside_context_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        helpers.url_for("index")


def test_template_attribute_gives_macros_and_variables(app: Erlen) -> None:
    with app.app_context():
        greet = helpers.get_template_attribute("_macros.html", "greet")
        answer = helpers.get_template_attribute("_macros.html", "answer")
    assert greet("Ada") == "Hi Ada!"
    assert answer == 42


# Flashing


def test_flashed_messages_reach_the_next_request(app: Erlen) -> None:
    @app.route("/flash")
    def do_flash() -> str:
        helpers.flash("saved")
        helpers.flash("careful", "warning")
        return ""

    @app.route("/show")
    def show() -> str:
        return repr(helpers.get_flashed_messages())

    client = app.test_client()
    client.get("/flash")
    assert client.get("/show").text == "['saved', 'careful']"
    # Reading them consumed them.
    assert client.get("/show").text == "[]"


def test_flashed_messages_with_categories_and_filter(app: Erlen) -> None:
    results: dict[str, t.Any] = {}

    @app.route("/flash")
    def do_flash() -> str:
        helpers.flash("one")
        helpers.flash("two", "error")
        helpers.flash("three", "info")
        return ""

    @app.route("/show")
    def show() -> str:
        results["pairs"] = helpers.get_flashed_messages(with_categories=True)
        results["errors"] = helpers.get_flashed_messages(category_filter=["error"])
        results["some_pairs"] = helpers.get_flashed_messages(
            with_categories=True, category_filter=iter(["message", "info"])
        )
        return ""

    client = app.test_client()
    client.get("/flash")
    client.get("/show")
    assert results["pairs"] == [("message", "one"), ("error", "two"), ("info", "three")]
    assert results["errors"] == ["two"]
    assert results["some_pairs"] == [("message", "one"), ("info", "three")]


def test_flashed_messages_repeat_within_one_request(app: Erlen) -> None:
    with app.test_request_context():
        helpers.flash("hello")
        first = helpers.get_flashed_messages()
        second = helpers.get_flashed_messages()
        # New flashes after the first read are for the next request, not this one.
        helpers.flash("later")
        third = helpers.get_flashed_messages()
    assert first == second == third == ["hello"]


def test_flash_marks_the_session_modified(app: Erlen) -> None:
    with app.test_request_context():
        assert not erlen.session.modified
        helpers.flash("zap")
        erlen.session.modified = False
        helpers.flash("zip")
        assert erlen.session.modified
        assert helpers.get_flashed_messages() == ["zap", "zip"]


def test_flash_sends_message_flashed_signal(app: Erlen) -> None:
    received: list[tuple[t.Any, dict[str, t.Any]]] = []

    def record(sender: t.Any, **extra: t.Any) -> None:
        received.append((sender, extra))

    with message_flashed.connected_to(record, app), app.test_request_context():
        helpers.flash("hi", "info")
    assert received == [(app, {"message": "hi", "category": "info"})]


def test_flash_without_secret_key_explains(app: Erlen) -> None:
    app.secret_key = None
    with app.test_request_context(), pytest.raises(RuntimeError, match="no secret key"):
        helpers.flash("nope")


# Sending files


def test_send_file_resolves_relative_paths_against_root(app: Erlen) -> None:
    with app.test_request_context():
        response = helpers.send_file("static/hello.txt")
    response.direct_passthrough = False
    assert response.get_data() == b"hello from a file\n"
    assert response.mimetype == "text/plain"
    assert response.cache_control.max_age is None
    response.close()


def test_send_file_max_age_follows_config(app: Erlen) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    with app.test_request_context():
        response = helpers.send_file("static/hello.txt")
        explicit = helpers.send_file("static/hello.txt", max_age=5)
    assert response.cache_control.max_age == 120
    assert explicit.cache_control.max_age == 5
    response.close()
    explicit.close()


def test_send_file_asks_app_for_max_age(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")

    class PerFileApp(erlen.Erlen):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 7 if filename and filename.endswith(".txt") else None

    app = PerFileApp("per_file", root_path=str(tmp_path))
    with app.test_request_context():
        response = helpers.send_file("f.txt")
    assert response.cache_control.max_age == 7
    response.close()


def test_send_file_uses_x_sendfile_when_configured(app: Erlen, tmp_path: Path) -> None:
    app.config["USE_X_SENDFILE"] = True
    with app.test_request_context():
        response = helpers.send_file("static/hello.txt")
    assert response.headers["X-Sendfile"] == str(tmp_path / "static" / "hello.txt")
    response.close()


def test_send_file_from_memory_as_attachment(app: Erlen) -> None:
    with app.test_request_context():
        response = helpers.send_file(
            io.BytesIO(b"a,b\n"), mimetype="text/csv", as_attachment=True, download_name="r.csv"
        )
    response.direct_passthrough = False
    assert isinstance(response, app.response_class)
    assert response.get_data() == b"a,b\n"
    assert response.headers["Content-Disposition"] == "attachment; filename=r.csv"


def test_send_file_is_conditional(app: Erlen) -> None:
    @app.route("/file")
    def file() -> t.Any:
        return helpers.send_file("static/hello.txt")

    client = app.test_client()
    with client.get("/file") as first:
        etag = first.headers["ETag"]
    with client.get("/file", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304


def test_send_from_directory_serves_files_inside(app: Erlen) -> None:
    with app.test_request_context():
        response = helpers.send_from_directory("static", "hello.txt")
    response.direct_passthrough = False
    assert response.get_data() == b"hello from a file\n"
    response.close()


@pytest.mark.parametrize("path", ["../static/hello.txt", "missing.txt", "/etc/passwd"])
def test_send_from_directory_refuses_escapes_and_missing(app: Erlen, path: str) -> None:
    with app.test_request_context(), pytest.raises(NotFound):
        helpers.send_from_directory("templates", path)


# Streaming


def test_stream_with_context_wraps_a_generator(app: Erlen) -> None:
    @app.route("/")
    def index() -> t.Any:
        def generate() -> t.Iterator[str]:
            yield "Hello "
            yield erlen.request.args["name"]
            yield "!"

        return erlen.Response(helpers.stream_with_context(generate()))

    assert app.test_client().get("/?name=World").data == b"Hello World!"


def test_stream_with_context_decorates_a_generator_function(app: Erlen) -> None:
    @app.route("/")
    def index() -> t.Any:
        @helpers.stream_with_context
        def generate(greeting: str) -> t.Iterator[str]:
            yield greeting
            yield erlen.request.args["name"]

        assert generate.__name__ == "generate"
        return erlen.Response(generate("Hi "))

    assert app.test_client().get("/?name=Ada").data == b"Hi Ada"


def test_stream_with_context_keeps_session_and_g(app: Erlen) -> None:
    @app.route("/")
    def index() -> t.Any:
        erlen.session["who"] = "ada"
        erlen.g.count = 3

        @helpers.stream_with_context
        def generate() -> t.Iterator[str]:
            yield erlen.session["who"]
            yield str(erlen.g.count)

        return erlen.Response(generate())

    assert app.test_client().get("/").data == b"ada3"


def test_stream_with_context_closes_the_wrapped_iterable(app: Erlen) -> None:
    closed: list[bool] = []

    class Body:
        def __init__(self) -> None:
            self._parts = iter(["a", "b"])

        def __iter__(self) -> Body:
            return self

        def __next__(self) -> str:
            return next(self._parts)

        def close(self) -> None:
            closed.append(True)

    @app.route("/")
    def index() -> t.Any:
        return erlen.Response(helpers.stream_with_context(Body()))

    assert app.test_client().get("/").data == b"ab"
    assert closed == [True]


def test_stream_with_context_tears_down_after_the_stream(app: Erlen) -> None:
    events: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    @app.route("/")
    def index() -> t.Any:
        def generate() -> t.Iterator[str]:
            events.append("streaming")
            yield "x"

        return erlen.Response(helpers.stream_with_context(generate()))

    response = app.test_client().get("/")
    assert response.data == b"x"
    assert "streaming" in events
    assert events[-1] == "teardown"
    assert _cv_request.get(None) is None


def test_stream_with_context_needs_a_request_context() -> None:
    with pytest.raises(RuntimeError, match="request context is active"):
        helpers.stream_with_context(iter(["x"]))
