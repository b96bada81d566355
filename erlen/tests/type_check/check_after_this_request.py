"""mypy-only: ``after_this_request`` is a decorator, so it returns exactly what it receives.

Run by ``tests/test_typing.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

from erlen import after_this_request
from erlen import Erlen
from erlen import Response

app = Erlen(__name__)


@app.route("/")
def index() -> str:
    @after_this_request
    def add_header(response: Response, /) -> Response:
        response.headers["X-Foo"] = "Parachute"
        return response

    assert_type(add_header, Callable[[Response], Response])
    return "Hello World!"
