"""``app.error_routers``: extensions taking over error handling for the requests they own."""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.exceptions import HTTPException

import erlen
from erlen.typing import ErrorRouter


class UnderPrefix:
    """Answers every error under ``/api/`` with JSON; leaves the rest to the app."""

    def __init__(self, app: erlen.Erlen) -> None:
        self.app = app
        self.seen: list[str] = []

    def _mine(self) -> bool:
        return erlen.request.path.startswith("/api/")

    def handle_user_exception(self, e: Exception) -> t.Any:
        if not self._mine():
            return NotImplemented
        self.seen.append(type(e).__name__)
        if not isinstance(e, HTTPException):
            raise e  # unhandled: on to handle_exception
        return {"error": type(e).__name__}, e.code

    def handle_exception(self, e: Exception) -> t.Any:
        if not self._mine():
            return NotImplemented
        return self.app.finalize_request(({"error": "server"}, 500), from_error_handler=True)


@pytest.fixture
def routed_app() -> tuple[erlen.Erlen, UnderPrefix]:
    app = erlen.Erlen(__name__)
    router = UnderPrefix(app)
    app.error_routers.append(router)

    @app.errorhandler(404)
    def html_404(e: HTTPException) -> tuple[str, int]:
        return "<p>not here</p>", 404

    @app.get("/api/boom")
    def boom() -> str:
        raise ValueError("boom")

    return app, router


def test_a_router_is_an_error_router() -> None:
    assert isinstance(UnderPrefix(erlen.Erlen(__name__)), ErrorRouter)


def test_errors_the_router_owns_bypass_the_apps_handlers(routed_app: t.Any) -> None:
    app, router = routed_app
    response = app.test_client().get("/api/missing")
    assert response.status_code == 404
    assert response.json == {"error": "NotFound"}
    assert router.seen == ["NotFound"]


def test_errors_it_declines_reach_the_apps_handlers(routed_app: t.Any) -> None:
    app, router = routed_app
    response = app.test_client().get("/missing")
    assert response.status_code == 404
    assert response.data == b"<p>not here</p>"
    assert router.seen == []


def test_unhandled_exceptions_can_be_routed_too(routed_app: t.Any) -> None:
    app, router = routed_app
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert response.json == {"error": "server"}
    assert router.seen == ["ValueError"]
