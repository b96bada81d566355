"""Type aliases shared across erlen; a leaf module that imports nothing above it."""

# The aliases are evaluated at run time and name classes as strings (forward references),
# which the ``X | Y`` syntax cannot combine, so ``t.Union`` stays.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import collections.abc as cabc
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.response import Response

# What a view may return as a body.
ResponseValue = t.Union[
    "Response",
    str,
    bytes,
    list[t.Any],
    t.Mapping[str, t.Any],
    t.Iterator[str],
    t.Iterator[bytes],
    cabc.AsyncIterable[str],
    cabc.AsyncIterable[bytes],
]

# A single header value, and the shapes headers may be given in.
HeaderValue = t.Union[str, list[str], tuple[str, ...]]
HeadersValue = t.Union[
    "Headers",
    t.Mapping[str, HeaderValue],
    t.Sequence[tuple[str, HeaderValue]],
]

# Everything a view may return: a body, or a tuple with status and/or headers, or a WSGI app.
ResponseReturnValue = t.Union[
    ResponseValue,
    tuple[ResponseValue, HeadersValue],
    tuple[ResponseValue, int],
    tuple[ResponseValue, int, HeadersValue],
    "WSGIApplication",
]

# Anything that subclasses the response class, so hooks can be typed precisely.
ResponseClass = t.TypeVar("ResponseClass", bound="Response")

AppOrBlueprintKey = t.Optional[str]  # None means the app itself
AfterRequestCallable = t.Union[
    t.Callable[[ResponseClass], ResponseClass],
    t.Callable[[ResponseClass], t.Awaitable[ResponseClass]],
]
BeforeFirstRequestCallable = t.Union[t.Callable[[], None], t.Callable[[], t.Awaitable[None]]]
BeforeRequestCallable = t.Union[
    t.Callable[[], ResponseReturnValue | None],
    t.Callable[[], t.Awaitable[ResponseReturnValue | None]],
]
ShellContextProcessorCallable = t.Callable[[], dict[str, t.Any]]
TeardownCallable = t.Union[
    t.Callable[[BaseException | None], None],
    t.Callable[[BaseException | None], t.Awaitable[None]],
]
TemplateContextProcessorCallable = t.Union[
    t.Callable[[], dict[str, t.Any]],
    t.Callable[[], t.Awaitable[dict[str, t.Any]]],
]
TemplateFilterCallable = t.Callable[..., t.Any]
TemplateGlobalCallable = t.Callable[..., t.Any]
TemplateTestCallable = t.Callable[..., bool]
URLDefaultCallable = t.Callable[[str, dict[str, t.Any]], None]
URLValuePreprocessorCallable = t.Callable[[str | None, dict[str, t.Any] | None], None]

# Error handlers receive the exception instance. The parameter is typed Any because a
# handler is usually written for one exception subclass, which Callable's
# contravariance would otherwise reject.
ErrorHandlerCallable = t.Union[
    t.Callable[[t.Any], ResponseReturnValue],
    t.Callable[[t.Any], t.Awaitable[ResponseReturnValue]],
]

RouteCallable = t.Union[
    t.Callable[..., ResponseReturnValue],
    t.Callable[..., t.Awaitable[ResponseReturnValue]],
]


@t.runtime_checkable
class ErrorRouter(t.Protocol):
    """Takes over error handling for the requests it owns (see ``Erlen.error_routers``).

    Each method returns ``NotImplemented`` for errors it leaves to the app's usual handling.
    """

    def handle_user_exception(self, e: Exception) -> t.Any:
        """Like ``Erlen.handle_user_exception``: a response value, or raise to go on to
        :meth:`handle_exception`."""
        ...

    def handle_exception(self, e: Exception) -> t.Any:
        """Like ``Erlen.handle_exception``: the finished response for an unhandled error."""
        ...
