"""View decorators that require a logged-in user, or a fresh login."""

from __future__ import annotations

import functools
import typing as t

from ...globals import current_request_context
from .login_manager import current_user
from .login_manager import get_login_manager
from .login_manager import login_fresh

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: Methods that never need a login: CORS preflight requests carry no credentials.
EXEMPT_METHODS = {"OPTIONS"}


def _checks_apply() -> bool:
    req_ctx = current_request_context()
    if req_ctx is None:
        return False
    if req_ctx.request.method in EXEMPT_METHODS:
        return False
    return not req_ctx.app.config.get("LOGIN_DISABLED")


def _call(func: t.Callable[..., t.Any], args: t.Any, kwargs: t.Any) -> t.Any:
    req_ctx = current_request_context()
    if req_ctx is None:
        return func(*args, **kwargs)
    return req_ctx.app.ensure_sync(func)(*args, **kwargs)


def login_required(func: F) -> F:
    """Let only logged-in users call the view; others get the manager's ``unauthorized()``.

    ``OPTIONS`` requests, and everything when ``LOGIN_DISABLED`` is set, pass through.
    """

    @functools.wraps(func)
    def decorated_view(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if _checks_apply() and not current_user.is_authenticated:
            return get_login_manager().unauthorized()
        return _call(func, args, kwargs)

    return t.cast(F, decorated_view)


def fresh_login_required(func: F) -> F:
    """Like :func:`login_required`, and the login must be fresh (not from a remember
    cookie, nor marked stale by session protection); else ``needs_refresh()``.
    """

    @functools.wraps(func)
    def decorated_view(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if _checks_apply():
            if not current_user.is_authenticated:
                return get_login_manager().unauthorized()
            if not login_fresh():
                return get_login_manager().needs_refresh()
        return _call(func, args, kwargs)

    return t.cast(F, decorated_view)
