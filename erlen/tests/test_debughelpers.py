"""Behaviour of the debug-mode explanations in :mod:`erlen.debughelpers`."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from jinja2 import DictLoader
from jinja2 import TemplateNotFound
from werkzeug.routing import RequestRedirect

import erlen
from erlen.debughelpers import attach_enctype_error_multidict
from erlen.debughelpers import DebugFilesKeyError
from erlen.debughelpers import explain_template_loading_attempts
from erlen.debughelpers import FormDataRoutingRedirect
from erlen.debughelpers import UnexpectedUnicodeError


@pytest.fixture
def app() -> erlen.Erlen:
    app = erlen.Erlen(__name__)
    app.testing = True
    return app


def test_unexpected_unicode_error_is_an_assertion_and_a_unicode_error() -> None:
    assert issubclass(UnexpectedUnicodeError, AssertionError)
    assert issubclass(UnexpectedUnicodeError, UnicodeError)


# request.files without the multipart enctype


def test_file_sent_as_form_field_explains_the_missing_enctype_in_debug(
    app: erlen.Erlen,
) -> None:
    app.debug = True

    @app.post("/upload")
    def upload() -> str:
        return erlen.request.files["avatar"].filename or ""

    with pytest.raises(DebugFilesKeyError) as exc_info:
        app.test_client().post("/upload", data={"avatar": "me.png"})

    message = str(exc_info.value)
    assert isinstance(exc_info.value, KeyError)
    assert "'avatar'" in message
    assert "no file contents were transmitted" in message
    assert 'enctype="multipart/form-data"' in message
    assert "This was submitted: 'me.png'" in message


def test_key_absent_from_form_and_files_stays_a_bad_request_in_debug(
    app: erlen.Erlen,
) -> None:
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False

    @app.post("/upload")
    def upload() -> str:
        return erlen.request.files["avatar"].filename or ""

    response = app.test_client().post("/upload", data={"other": "x"})

    assert response.status_code == 400


def test_file_sent_as_form_field_is_a_plain_bad_request_outside_debug(
    app: erlen.Erlen,
) -> None:
    @app.post("/upload")
    def upload() -> str:
        return erlen.request.files["avatar"].filename or ""

    response = app.test_client().post("/upload", data={"avatar": "me.png"})

    assert response.status_code == 400


def test_patched_files_keep_their_class_name_and_patching_twice_is_harmless(
    app: erlen.Erlen,
) -> None:
    with app.test_request_context(method="POST", data={"a": "1"}):
        request = erlen.request._get_current_object()  # type: ignore[attr-defined]
        original = type(request.files)

        attach_enctype_error_multidict(request)
        patched = type(request.files)
        attach_enctype_error_multidict(request)

        assert type(request.files) is patched
        assert patched.__bases__ == (original,)
        assert patched.__name__ == original.__name__
        assert patched.__module__ == original.__module__
        with pytest.raises(DebugFilesKeyError):
            request.files["a"]


# Routing redirects that would drop the body


def test_trailing_slash_redirect_that_drops_form_data_is_explained_in_debug(
    app: erlen.Erlen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.debug = True
    monkeypatch.setattr(RequestRedirect, "code", 301)

    @app.route("/user/", methods=["GET", "POST"])
    def user() -> str:
        return erlen.request.form["status"]

    with pytest.raises(FormDataRoutingRedirect) as exc_info:
        app.test_client().post("/user?next=1", data={"status": "x"})

    message = str(exc_info.value)
    assert isinstance(exc_info.value, AssertionError)
    assert message.startswith(
        "A request was sent to 'http://localhost/user?next=1', but routing issued a redirect"
        " to the canonical URL 'http://localhost/user/?next=1'."
    )
    assert "defined with a trailing slash" in message
    assert "use 307 or 308" in message
    assert message.endswith("This exception is only raised in debug mode.")


def test_other_redirect_that_drops_form_data_has_no_trailing_slash_hint(
    app: erlen.Erlen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.debug = True
    monkeypatch.setattr(RequestRedirect, "code", 302)
    app.add_url_rule("/old", "old", redirect_to="/new", methods=["POST"])

    with pytest.raises(FormDataRoutingRedirect) as exc_info:
        app.test_client().post("/old", data={"status": "x"})

    message = str(exc_info.value)
    assert "canonical URL 'http://localhost/new'" in message
    assert "trailing slash" not in message


def test_redirect_that_drops_form_data_is_a_plain_redirect_outside_debug(
    app: erlen.Erlen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RequestRedirect, "code", 301)

    @app.route("/user/", methods=["GET", "POST"])
    def user() -> str:
        return "x"

    response = app.test_client().post("/user", data={"status": "x"})

    assert response.status_code == 301
    assert response.location == "http://localhost/user/"


def test_redirect_keeping_the_body_is_followed_in_debug(app: erlen.Erlen) -> None:
    app.debug = True

    @app.route("/user/", methods=["GET", "POST"])
    def user() -> str:
        return erlen.request.form["status"]

    response = app.test_client().post("/user", data={"status": "ok"}, follow_redirects=True)

    assert response.data == b"ok"


# Template loading explanation


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def records(app: erlen.Erlen) -> t.Iterator[_Records]:
    handler = _Records()
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)
    yield handler
    app.logger.removeHandler(handler)
    app.logger.setLevel(logging.NOTSET)


def test_explanation_lists_each_loader_and_what_it_found(
    app: erlen.Erlen, records: _Records, tmp_path: Path
) -> None:
    loader = DictLoader({"page.html": "x"})
    attempts: list[t.Any] = [
        (loader, app, None),
        (loader, "something else", ("x", str(tmp_path / "page.html"), None)),
    ]

    explain_template_loading_attempts(app, "page.html", attempts)

    (message,) = records.messages
    lines = message.splitlines()
    assert lines[0] == "Locating template 'page.html':"
    assert lines[1] == f"    1: trying loader of application {app.import_name!r}"
    assert "       class: jinja2.loaders.DictLoader" in lines
    assert "       -> no match" in lines
    assert "    2: trying loader of 'something else'" in lines
    assert f"       -> found ({str(tmp_path / 'page.html')!r})" in lines
    assert not any(line.startswith(("Error", "Warning")) for line in lines)


def test_explanation_warns_about_several_matches_and_string_templates(
    app: erlen.Erlen, records: _Records
) -> None:
    loader = DictLoader({})
    found = ("x", None, None)

    explain_template_loading_attempts(app, "t.html", [(loader, app, found), (loader, app, found)])

    (message,) = records.messages
    assert "       -> found ('<string>')" in message
    assert message.endswith("Warning: multiple loaders returned a match for the template.")


def test_explanation_from_a_blueprint_view_points_at_the_blueprint(
    app: erlen.Erlen, records: _Records, tmp_path: Path
) -> None:
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    bp = erlen.Blueprint("shop", __name__, template_folder=str(tmp_path))

    @bp.route("/")
    def index() -> str:
        return erlen.render_template("missing.html")

    app.register_blueprint(bp)

    with pytest.raises(TemplateNotFound):
        app.test_client().get("/")

    (message,) = records.messages
    assert f"trying loader of blueprint 'shop' ({__name__})" in message
    assert f"  - {tmp_path}" in message
    assert "Error: the template could not be found." in message
    assert "belongs to the blueprint 'shop'" in message
    assert "Maybe you did not place a template in the right folder?" in message
