"""Behaviour of the application logger and its fallback handler."""

from __future__ import annotations

import io
import logging
import sys
import typing as t

import pytest

import erlen
from erlen.logging import create_logger
from erlen.logging import default_handler
from erlen.logging import has_level_handler
from erlen.logging import wsgi_errors_stream

APP_NAME = "erlen_logging_test_app"


@pytest.fixture(autouse=True)
def isolated_logging(request: pytest.FixtureRequest) -> t.Iterator[None]:
    """Run each test with no root handlers and a fresh app logger, and restore both after.

    pytest's own capture handler is unregistered too, as it would count as a root handler.
    """
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    saved_level = root.level
    root.handlers = []
    plugin = request.config.pluginmanager.unregister(name="logging-plugin")
    app_logger = logging.getLogger(APP_NAME)
    app_logger.handlers = []
    app_logger.setLevel(logging.NOTSET)
    app_logger.propagate = True

    yield

    root.handlers = saved_handlers
    root.setLevel(saved_level)
    app_logger.handlers = []
    app_logger.setLevel(logging.NOTSET)
    if plugin is not None:
        request.config.pluginmanager.register(plugin, "logging-plugin")


@pytest.fixture
def app() -> erlen.Erlen:
    app = erlen.Erlen(APP_NAME)
    app.testing = True
    return app


def test_app_logger_is_named_after_the_app_and_gets_the_default_handler(
    app: erlen.Erlen,
) -> None:
    assert app.logger is logging.getLogger(APP_NAME)
    assert app.logger.level == logging.NOTSET
    assert app.logger.handlers == [default_handler]


def test_debug_app_logger_logs_debug_messages(app: erlen.Erlen) -> None:
    app.debug = True

    assert app.logger.level == logging.DEBUG
    assert app.logger.handlers == [default_handler]


def test_debug_keeps_a_level_set_by_the_user(app: erlen.Erlen) -> None:
    logging.getLogger(APP_NAME).setLevel(logging.WARNING)
    app.debug = True

    assert app.logger.level == logging.WARNING


def test_no_default_handler_when_the_root_logger_has_one(app: erlen.Erlen) -> None:
    logging.getLogger().addHandler(logging.StreamHandler(io.StringIO()))

    assert app.logger.handlers == []


def test_has_level_handler_follows_propagation_and_handler_levels() -> None:
    logger = logging.getLogger("erlen_logging_test.child")
    assert not has_level_handler(logger)

    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    assert has_level_handler(logger)

    logger.propagate = False
    try:
        assert not has_level_handler(logger)
    finally:
        logger.propagate = True

    handler.setLevel(logging.ERROR)  # the effective level is WARNING, from the root
    assert not has_level_handler(logger)
    logger.setLevel(logging.ERROR)
    try:
        assert has_level_handler(logger)
    finally:
        logger.setLevel(logging.NOTSET)


def test_create_logger_does_not_add_the_handler_twice(app: erlen.Erlen) -> None:
    create_logger(app)
    logger = create_logger(app)

    assert logger.handlers == [default_handler]


def test_errors_stream_is_stderr_outside_a_request_and_wsgi_errors_inside(
    app: erlen.Erlen,
) -> None:
    stream = io.StringIO()

    assert wsgi_errors_stream._get_current_object() is sys.stderr
    with app.test_request_context(errors_stream=stream):
        assert wsgi_errors_stream._get_current_object() is stream


def test_messages_logged_in_a_view_reach_the_wsgi_error_stream(app: erlen.Erlen) -> None:
    @app.route("/")
    def index() -> str:
        app.logger.error("disk %s", "full")
        return ""

    stream = io.StringIO()
    app.test_client().get("/", errors_stream=stream)

    assert "ERROR in test_logging: disk full" in stream.getvalue()


def test_unhandled_view_exception_is_logged_with_its_traceback(app: erlen.Erlen) -> None:
    @app.route("/boom")
    def boom() -> str:
        raise LookupError("no such thing")

    app.testing = False
    stream = io.StringIO()
    response = app.test_client().get("/boom", errors_stream=stream)

    assert response.status_code == 500
    logged = stream.getvalue()
    assert "Exception on /boom [GET]" in logged
    assert "LookupError: no such thing" in logged
