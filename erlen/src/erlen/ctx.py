"""Application and request contexts: what ``current_app``, ``g``, ``request`` and ``session`` see.

A request context pushes an application context when none for its app is active. Both live
in a :class:`~contextvars.ContextVar` each; pushing and popping are a ``set`` and a ``reset``.
"""

from __future__ import annotations

import contextvars
import sys
import typing as t
from functools import update_wrapper
from types import TracebackType

from werkzeug.exceptions import HTTPException

from . import typing as ft
from .globals import _cv_app
from .globals import _cv_request
from .signals import appcontext_popped
from .signals import appcontext_pushed

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import MapAdapter

    from .app import Erlen
    from .sessions import SessionMixin
    from .wrappers import Request

_sentinel = object()
_unset = object()


def _wsgi_str(value: str | None) -> str | None:
    """Decode a WSGI "bytes as latin-1" string to text, as werkzeug does."""
    if value is None:
        return None
    return value.encode("latin1").decode(errors="replace")


class _AppCtxGlobals:
    """The namespace object behind :data:`erlen.g`: set any attribute for the app context."""

    # Declared so type checkers accept arbitrary attributes.
    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: t.Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """Return attribute ``name``, or ``default`` if it isn't set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return attribute ``name``; ``default`` (if given) when it isn't set."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return attribute ``name``, setting it to ``default`` first if it isn't set."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<erlen.g of {ctx.app.name!r}>"
        return object.__repr__(self)


T_after_request = t.TypeVar("T_after_request", bound=ft.AfterRequestCallable[t.Any])


def after_this_request(f: T_after_request) -> T_after_request:
    """Run ``f(response)`` after the current request only; it returns the response."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def copy_current_request_context(f: F) -> F:
    """Wrap ``f`` so that it runs inside a copy of the current request context.

    Use it for work handed to another thread or greenlet that still needs ``request``.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    ctx = ctx.copy()

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with ctx:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def has_request_context() -> bool:
    """Whether a request context is active (``request`` and ``session`` are usable)."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Whether an application context is active (``current_app`` and ``g`` are usable)."""
    return _cv_app.get(None) is not None


class AppContext:
    """The application context: binds ``current_app`` and ``g`` while it is pushed.

    Pushed implicitly with each request, by CLI commands and by ``with app.app_context():``.
    """

    def __init__(self, app: Erlen) -> None:
        self.app = app
        self.url_adapter = app.create_url_adapter(None)
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._cv_tokens: list[contextvars.Token[AppContext]] = []

    def push(self) -> None:
        """Make this the active application context."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the app's teardown functions (on the outermost pop) and deactivate."""
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())

        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)


class RequestContext:
    """The request context: binds ``request`` and ``session`` for one request.

    Created per WSGI call by :meth:`Erlen.request_context`. On push it activates an app
    context if needed and matches the URL. The session is opened lazily, on first use,
    when the app uses the built-in cookie session (whose opening has no side effects); a
    custom session interface is opened at push, as it may rely on that (the ``lazy_session``
    decision in :mod:`erlen._fastpaths`).
    """

    def __init__(
        self,
        app: Erlen,
        environ: WSGIEnvironment,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
        request.json_module = app.json
        self.request: Request = request
        # The host-bound adapter, shared by requests to the same host; this request's own
        # adapter (``url_adapter``) is only made if something asks for it, e.g. url_for.
        self._host_adapter: MapAdapter | None = None
        self._url_adapter: MapAdapter | None | object = _unset
        try:
            if app._fast_shared_url_adapter:
                self._host_adapter = app._host_adapter(request)
            else:
                # A subclass's own create_url_adapter is honoured as it is.
                self._url_adapter = app.create_url_adapter(request)
        except HTTPException as e:
            request.routing_exception = e
            self._url_adapter = None
        self.flashes: list[tuple[str, str]] | None = None
        self._opened_session: SessionMixin | None = session
        self._after_request_functions: list[ft.AfterRequestCallable[t.Any]] = []
        self._cv_tokens: list[tuple[contextvars.Token[RequestContext], AppContext | None]] = []

    def copy(self) -> RequestContext:
        """A new context for the same request and session, for use in another thread."""
        return self.__class__(
            self.app,
            environ=self.request.environ,
            request=self.request,
            session=self._session,
        )

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL adapter for this request: matches its URL and builds URLs for it."""
        adapter = self._url_adapter
        if adapter is _unset:
            adapter = self._url_adapter = self.app._request_adapter(
                self._host_adapter,  # type: ignore[arg-type]
                self.request.environ,
            )
        return adapter  # type: ignore[return-value]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def match_request(self) -> None:
        """Match the URL; store the rule and arguments, or the routing error, on the request."""
        try:
            if self._url_adapter is _unset and self._host_adapter is not None:
                # Match with this request's path and method on the shared host adapter,
                # without making an adapter of its own.
                request = self.request
                environ = request.environ
                path_info = environ.get("PATH_INFO")
                rule, args = self._host_adapter.match(
                    "/" if path_info is None else _wsgi_str(path_info),
                    environ["REQUEST_METHOD"],
                    return_rule=True,
                    query_args=_wsgi_str(environ.get("QUERY_STRING")),
                )
            else:
                rule, args = self.url_adapter.match(return_rule=True)  # type: ignore[union-attr]
        except HTTPException as e:
            self.request.routing_exception = e
        else:
            self.request.url_rule = rule
            self.request.view_args = args  # type: ignore[assignment]

    @property
    def _session(self) -> SessionMixin:
        """The session, opened if needed, without marking it accessed."""
        session = self._opened_session
        if session is None:
            session = self._open_session()
        return session

    @_session.setter
    def _session(self, value: SessionMixin | None) -> None:
        self._opened_session = value

    @property
    def session(self) -> SessionMixin:
        """The session; reading it marks it accessed (so the response varies on Cookie)."""
        session = self._opened_session
        if session is None:
            session = self._open_session()
        session.accessed = True
        return session

    @property
    def session_opened(self) -> bool:
        """Whether the session has been opened for this request."""
        return self._opened_session is not None

    def _open_session(self) -> SessionMixin:
        interface = self.app.session_interface
        session = interface.open_session(self.app, self.request)
        if session is None:
            session = interface.make_null_session(self.app)
        self._opened_session = session
        return session

    def push(self) -> None:
        """Activate this context (and an app context for its app if none is active)."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None

        self._cv_tokens.append((_cv_request.set(self), app_ctx))

        if self._opened_session is None and not self.app.session_interface._fast_lazy_session:
            self._open_session()

        if self._host_adapter is not None or self._url_adapter not in (None, _unset):
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run teardown functions (on the outermost pop), close the request, deactivate."""
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                request = self.request
                # werkzeug's close() only closes parsed files; skip the call when there are
                # none and the class doesn't add its own (erlen._fastpaths: skip_close).
                if not request._fast_skip_close or "files" in request.__dict__:
                    request.close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            # Break the environ -> request -> environ cycle early.
            if clear_request:
                ctx.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
            if ctx is not self:
                raise AssertionError(f"Popped wrong request context. ({ctx!r} instead of {self!r})")

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.request.url!r}"
            f" [{self.request.method}] of {self.app.name}>"
        )
