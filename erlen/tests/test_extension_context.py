"""The public way for extensions to find the current app and request (``erlen.globals``)."""

from __future__ import annotations

import pathlib
import re

import pytest

import erlen
from erlen.globals import current_app_context
from erlen.globals import current_request_context
from erlen.globals import get_app
from erlen.globals import get_app_context
from erlen.globals import get_request_context


@pytest.fixture
def app() -> erlen.Erlen:
    return erlen.Erlen("context_helpers")


def test_outside_any_context_the_lookups_give_none() -> None:
    assert current_app_context() is None
    assert current_request_context() is None


def test_inside_an_app_context_the_app_context_is_found(app: erlen.Erlen) -> None:
    with app.app_context() as ctx:
        assert current_app_context() is ctx
        erlen.g.seen = True
        assert ctx.g.seen is True
        assert current_request_context() is None


def test_inside_a_request_both_contexts_are_found(app: erlen.Erlen) -> None:
    with app.test_request_context("/hello?x=1") as ctx:
        assert current_request_context() is ctx
        assert ctx.request.args["x"] == erlen.request.args["x"] == "1"
        app_ctx = current_app_context()
        assert app_ctx is not None and app_ctx.app is app


def test_get_app_prefers_the_app_it_is_given(app: erlen.Erlen) -> None:
    other = erlen.Erlen("other")
    assert get_app("Cache", app) is app
    with other.app_context():
        assert get_app("Cache", app) is app


def test_get_app_unwraps_current_app(app: erlen.Erlen) -> None:
    with app.app_context():
        found = get_app("Cache", erlen.current_app)
    assert found is app
    assert type(found) is erlen.Erlen


def test_get_app_falls_back_to_the_current_app(app: erlen.Erlen) -> None:
    with app.app_context():
        assert get_app("Cache") is app
    with app.test_request_context():
        assert get_app("Cache") is app


def test_get_app_outside_a_context_names_the_extension_and_the_fixes() -> None:
    with pytest.raises(RuntimeError) as info:
        get_app("Cache")
    message = str(info.value)
    assert message.startswith("Working outside of application context: Cache needs")
    assert "with app.app_context():" in message
    assert "app=" in message


def test_get_app_context_returns_it_or_explains(app: erlen.Erlen) -> None:
    with app.app_context() as ctx:
        assert get_app_context("Cache") is ctx
    with pytest.raises(RuntimeError, match=r"Cache needs .*\n\n.*with app\.app_context\(\):"):
        get_app_context("Cache")


def test_get_request_context_returns_it_or_explains(app: erlen.Erlen) -> None:
    with app.test_request_context() as ctx:
        assert get_request_context("Uploads") is ctx
    with app.app_context(), pytest.raises(RuntimeError) as info:
        get_request_context("Uploads")
    message = str(info.value)
    assert message.startswith("Working outside of request context: Uploads needs")
    assert "with app.test_request_context():" in message


# -- the first-party extensions use them --------------------------------------------------------


def test_no_first_party_extension_reads_the_private_context_variables() -> None:
    package = pathlib.Path(erlen.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for folder in ("ext", "realtime")
        for path in sorted((package / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\b_cv_(app|request)\b", line)
    ]
    assert offenders == []


def test_extensions_outside_an_app_give_the_one_message() -> None:
    pytest.importorskip("sqlalchemy")
    from erlen.ext.realtime import Publisher
    from erlen.ext.sqlalchemy import SQLAlchemy

    with pytest.raises(RuntimeError, match=r"^Working outside of application context: Publisher"):
        Publisher().get_broker()
    with pytest.raises(RuntimeError, match=r"^Working outside of application context: SQLAlchemy"):
        SQLAlchemy().engine  # noqa: B018


def test_extensions_outside_a_request_give_the_one_message(app: erlen.Erlen) -> None:
    from erlen.ext.csrf import generate_csrf

    with app.app_context():
        with pytest.raises(RuntimeError, match=r"^Working outside of request context: CSRFProtect"):
            generate_csrf()
