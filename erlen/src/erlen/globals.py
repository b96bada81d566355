"""The context-local globals: ``current_app``, ``g``, ``request``, ``session``.

Each is a werkzeug :class:`~werkzeug.local.LocalProxy` over a :class:`~contextvars.ContextVar`
holding the active context. erlen's own request path reads the context objects directly and
never goes through these proxies.

Extensions find the active contexts through the functions at the end of this module, which
cost one context-variable lookup and say plainly what is missing when there is none:

.. code-block:: python

    from erlen.globals import current_request_context, get_app

    def _get_app(self, app=None):
        return get_app("Cache", app)  # the app given, else the current one, else a clear error

    def hit_rate():
        ctx = current_request_context()  # None outside a request
        ...
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Erlen
    from .ctx import _AppCtxGlobals
    from .ctx import AppContext
    from .ctx import RequestContext
    from .sessions import SessionMixin
    from .wrappers import Request


_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_cv_app: ContextVar[AppContext] = ContextVar("erlen.app_ctx")
app_ctx: AppContext = LocalProxy(  # type: ignore[assignment]
    _cv_app, unbound_message=_no_app_msg
)
current_app: Erlen = LocalProxy(  # type: ignore[assignment]
    _cv_app, "app", unbound_message=_no_app_msg
)
g: _AppCtxGlobals = LocalProxy(  # type: ignore[assignment]
    _cv_app, "g", unbound_message=_no_app_msg
)

_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""
_cv_request: ContextVar[RequestContext] = ContextVar("erlen.request_ctx")
request_ctx: RequestContext = LocalProxy(  # type: ignore[assignment]
    _cv_request, unbound_message=_no_req_msg
)
request: Request = LocalProxy(  # type: ignore[assignment]
    _cv_request, "request", unbound_message=_no_req_msg
)
session: SessionMixin = LocalProxy(  # type: ignore[assignment]
    _cv_request, "session", unbound_message=_no_req_msg
)


# -- for extensions ------------------------------------------------------------------------


def current_app_context() -> AppContext | None:
    """Return the active application context, or ``None`` outside of one.

    The context's ``app`` and ``g`` are the objects ``current_app`` and ``g`` stand for. Use
    it where "no app" is a normal case rather than an error; :func:`get_app` raises instead.
    """
    return _cv_app.get(None)


def current_request_context() -> RequestContext | None:
    """Return the active request context, or ``None`` outside of a request.

    The context's ``app``, ``request`` and ``session`` are the objects the globals of those
    names stand for; its ``app`` is also the current app.
    """
    return _cv_request.get(None)


def get_app(extension: str, app: Erlen | None = None) -> Erlen:
    """Return ``app`` if given, else the current app: the lookup Flask-style extensions do.

    .. code-block:: python

        class Cache:
            def clear(self, app=None):
                app = get_app("Cache", app)
                app.extensions["cache"].clear()

    A proxy such as ``current_app`` is accepted and unwrapped.

    :param extension: Names the caller in the error message, e.g. ``"SQLAlchemy"``.
    :param app: The app to use; ``None`` for the current one.
    :raises RuntimeError: If ``app`` is ``None`` and no application context is active. The
        message names ``extension`` and the two ways out: ``with app.app_context():``, or
        passing the app.
    """
    if app is not None:
        if isinstance(app, LocalProxy):
            return app._get_current_object()  # type: ignore[no-any-return]
        return app
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_for_extension_msg.format(extension=extension))
    return ctx.app


def get_app_context(extension: str) -> AppContext:
    """Return the active application context, or raise the error :func:`get_app` raises.

    For extensions that keep per-context state on its ``g``.

    :param extension: Names the caller in the error message.
    :raises RuntimeError: Outside of an application context.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_for_extension_msg.format(extension=extension))
    return ctx


def get_request_context(extension: str) -> RequestContext:
    """Return the active request context, or raise an error that names ``extension``.

    :param extension: Names the caller in the error message, e.g. ``"CSRFProtect"``.
    :raises RuntimeError: Outside of a request, with a message that says how to get one.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(_no_req_for_extension_msg.format(extension=extension))
    return ctx


_no_app_for_extension_msg = """\
Working outside of application context: {extension} needs the current application.

Run this code inside 'with app.app_context():' (views and CLI commands already have one),
or pass the app to {extension} explicitly where it takes one (app=...).\
"""

_no_req_for_extension_msg = """\
Working outside of request context: {extension} needs an active HTTP request.

Call this from a view or a request hook; in tests and scripts, set one up with
'with app.test_request_context():'.\
"""
