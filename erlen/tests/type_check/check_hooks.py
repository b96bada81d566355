"""mypy-only: hook, error handler and template decorators return exactly what they receive.

Run by ``tests/test_typing.py``. Each ``type: ignore`` marks a call that must be a
type error; mypy's ``warn_unused_ignores`` (part of ``--strict``) fails if it isn't.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any
from typing import assert_type

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound

from erlen import Blueprint
from erlen import copy_current_request_context
from erlen import Erlen
from erlen import Response

app = Erlen(__name__)
bp = Blueprint("bp", __name__)

# -- request hooks ---------------------------------------------------------------------------


def before() -> None:
    pass


def before_short_circuit() -> str | None:
    return None


async def async_before() -> None:
    pass


def after(response: Response, /) -> Response:
    return response


async def async_after(response: Response, /) -> Response:
    return response


def teardown(exc: BaseException | None, /) -> None:
    pass


assert_type(app.before_request(before), Callable[[], None])
assert_type(app.before_request(before_short_circuit), Callable[[], str | None])
assert_type(app.before_request(async_before), Callable[[], Coroutine[Any, Any, None]])
assert_type(app.after_request(after), Callable[[Response], Response])
assert_type(app.after_request(async_after), Callable[[Response], Coroutine[Any, Any, Response]])
assert_type(app.teardown_request(teardown), Callable[[BaseException | None], None])
assert_type(app.teardown_appcontext(teardown), Callable[[BaseException | None], None])

assert_type(bp.before_request(before), Callable[[], None])
assert_type(bp.after_request(after), Callable[[Response], Response])
assert_type(bp.teardown_request(teardown), Callable[[BaseException | None], None])
assert_type(bp.before_app_request(before), Callable[[], None])
assert_type(bp.after_app_request(after), Callable[[Response], Response])
assert_type(bp.teardown_app_request(teardown), Callable[[BaseException | None], None])


def needs_an_argument(value: int, /) -> None:
    pass


app.before_request(needs_an_argument)  # type: ignore[type-var]

# -- URL processors --------------------------------------------------------------------------


def url_defaults(endpoint: str, values: dict[str, Any], /) -> None:
    pass


def url_preprocessor(endpoint: str | None, values: dict[str, Any] | None, /) -> None:
    pass


assert_type(app.url_defaults(url_defaults), Callable[[str, dict[str, Any]], None])
assert_type(
    app.url_value_preprocessor(url_preprocessor),
    Callable[[str | None, dict[str, Any] | None], None],
)
assert_type(bp.url_defaults(url_defaults), Callable[[str, dict[str, Any]], None])
assert_type(bp.app_url_defaults(url_defaults), Callable[[str, dict[str, Any]], None])
assert_type(
    bp.app_url_value_preprocessor(url_preprocessor),
    Callable[[str | None, dict[str, Any] | None], None],
)

# -- error handlers --------------------------------------------------------------------------


def handle_key_error(e: KeyError, /) -> tuple[str, int]:
    return str(e), 400


def handle_not_found(e: NotFound, /) -> str:
    return "not found"


def handle_http(e: HTTPException, /) -> Response:
    return Response(str(e.description), status=e.code or 500)


async def async_handler(e: Exception, /) -> str:
    return "async"


assert_type(app.errorhandler(KeyError)(handle_key_error), Callable[[KeyError], tuple[str, int]])
assert_type(app.errorhandler(404)(handle_not_found), Callable[[NotFound], str])
assert_type(app.errorhandler(HTTPException)(handle_http), Callable[[HTTPException], Response])
assert_type(app.errorhandler(500)(async_handler), Callable[[Exception], Coroutine[Any, Any, str]])
assert_type(bp.errorhandler(KeyError)(handle_key_error), Callable[[KeyError], tuple[str, int]])
assert_type(bp.app_errorhandler(404)(handle_not_found), Callable[[NotFound], str])


def handler_without_argument() -> str:
    return ""


app.errorhandler(404)(handler_without_argument)  # type: ignore[type-var]

# -- templates and the shell -----------------------------------------------------------------


def reverse(value: str, /) -> str:
    return value[::-1]


def is_even(value: int, /) -> bool:
    return value % 2 == 0


def answer() -> int:
    return 42


def extra_context() -> dict[str, Any]:
    return {"a": 1}


assert_type(app.template_filter()(reverse), Callable[[str], str])
assert_type(app.template_filter("rev")(reverse), Callable[[str], str])
assert_type(app.template_filter(reverse), Callable[[str], str])
assert_type(app.template_test()(is_even), Callable[[int], bool])
assert_type(app.template_test(is_even), Callable[[int], bool])
assert_type(app.template_global()(answer), Callable[[], int])
assert_type(app.template_global(answer), Callable[[], int])
assert_type(bp.app_template_filter()(reverse), Callable[[str], str])
assert_type(bp.app_template_filter(reverse), Callable[[str], str])
assert_type(bp.app_template_test(is_even), Callable[[int], bool])
assert_type(bp.app_template_global(answer), Callable[[], int])
assert_type(app.context_processor(extra_context), Callable[[], dict[str, Any]])
assert_type(bp.context_processor(extra_context), Callable[[], dict[str, Any]])
assert_type(bp.app_context_processor(extra_context), Callable[[], dict[str, Any]])
assert_type(app.shell_context_processor(extra_context), Callable[[], dict[str, Any]])

# -- context helpers -------------------------------------------------------------------------


def background(count: int, /) -> list[int]:
    return [count]


assert_type(copy_current_request_context(background), Callable[[int], list[int]])
