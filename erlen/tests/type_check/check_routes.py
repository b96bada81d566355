"""mypy-only: route decorators hand back exactly the view they were given.

Run by ``tests/test_typing.py``. ``assert_type`` fails the type check unless the
decorated object keeps its precise type; a ``type: ignore`` (with mypy's
``warn_unused_ignores``) fails it unless the line really is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterator
from typing import Any
from typing import assert_type

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as WerkzeugResponse

from erlen import Blueprint
from erlen import Erlen
from erlen import Response

app = Erlen(__name__)
bp = Blueprint("bp", __name__)


def index() -> str:
    return "index"


def user(name: str, /) -> str:
    return name


def as_json() -> dict[str, int]:
    return {"a": 1}


def with_status() -> tuple[str, int]:
    return "created", 201


def with_headers() -> tuple[str, int, dict[str, str]]:
    return "body", 200, {"X-A": "1"}


def as_response() -> Response:
    return Response("r")


def streamed() -> Iterator[str]:
    yield "chunk"


async def async_view() -> str:
    return "async"


def with_header_list() -> tuple[str, list[tuple[str, str]]]:
    return "body", [("X-A", "1")]


def with_headers_object() -> tuple[bytes, Headers]:
    return b"body", Headers({"X-A": "1"})


def response_with_status() -> tuple[Response, int]:
    return Response("r"), 404


def json_list_with_status() -> tuple[list[int], int]:
    return [1, 2], 201


def werkzeug_response() -> WerkzeugResponse:
    return WerkzeugResponse("plain")


class CallableView:
    """A view that is an instance, with an attribute of its own."""

    marker = "kept"

    def __call__(self) -> str:
        return self.marker


assert_type(app.route("/")(index), Callable[[], str])
assert_type(app.route("/<name>")(user), Callable[[str], str])
assert_type(app.route("/json")(as_json), Callable[[], dict[str, int]])
assert_type(app.route("/status")(with_status), Callable[[], tuple[str, int]])
assert_type(app.route("/headers")(with_headers), Callable[[], tuple[str, int, dict[str, str]]])
assert_type(app.route("/response")(as_response), Callable[[], Response])
assert_type(app.route("/stream")(streamed), Callable[[], Iterator[str]])
assert_type(app.route("/async")(async_view), Callable[[], Coroutine[Any, Any, str]])
assert_type(
    app.route("/header-list")(with_header_list), Callable[[], tuple[str, list[tuple[str, str]]]]
)
assert_type(app.route("/headers-object")(with_headers_object), Callable[[], tuple[bytes, Headers]])
assert_type(app.route("/r404")(response_with_status), Callable[[], tuple[Response, int]])
assert_type(app.route("/list")(json_list_with_status), Callable[[], tuple[list[int], int]])
assert_type(app.route("/werkzeug")(werkzeug_response), Callable[[], WerkzeugResponse])
assert_type(app.route("/callable")(CallableView()), CallableView)

for shortcut in (app.get, app.post, app.put, app.delete, app.patch):
    assert_type(shortcut("/")(index), Callable[[], str])

for bp_shortcut in (bp.route, bp.get, bp.post, bp.put, bp.delete, bp.patch):
    assert_type(bp_shortcut("/")(index), Callable[[], str])
    assert_type(bp_shortcut("/")(CallableView()), CallableView)

assert_type(app.endpoint("index")(index), Callable[[], str])
assert_type(bp.endpoint("index")(CallableView()), CallableView)


@app.route("/decorated")
def decorated() -> str:
    return "still a plain function"


# The decorated name is still the function: calling it gives its own return type.
text: str = decorated()


def not_a_view() -> int:
    return 42


app.route("/wrong")(not_a_view)  # type: ignore[type-var]
