"""The web tier's shared fixtures (signed-in users), and the recorder of what its requests
reached (served_routes.SERVED)."""

from __future__ import annotations

import typing as t

import pytest
from erlen import request
from erlen.signals import request_finished
from erlen.testing import FlaskClient
from served_routes import SENT_TO_LOGIN
from served_routes import SERVED


@pytest.fixture(autouse=True, scope="session")
def _record_served_routes() -> t.Iterator[None]:
    def record(sender: t.Any, response: t.Any, **extra: t.Any) -> None:
        if request.endpoint is None:
            return
        SERVED[request.endpoint].add(response.status_code)
        if response.status_code == 302 and "/login?next=" in response.headers.get("Location", ""):
            SENT_TO_LOGIN.add(request.endpoint)

    request_finished.connect(record)
    yield
    request_finished.disconnect(record)


@pytest.fixture
def ada(sign_in: t.Callable[..., FlaskClient]) -> FlaskClient:
    """A browser-like client signed in as a new account, ada (a file may override it)."""
    return sign_in("ada")


@pytest.fixture
def bob(sign_in: t.Callable[..., FlaskClient]) -> FlaskClient:
    """Another one, bob."""
    return sign_in("bob")
