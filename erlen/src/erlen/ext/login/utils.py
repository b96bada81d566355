"""Flask-Login's ``flask_login.utils``: the functions of a login, under their usual module.

Everything here is defined elsewhere in the package (:mod:`.login_manager`,
:mod:`.decorators`, :mod:`.helpers`) and gathered for code that imports it from here.
"""

from __future__ import annotations

import typing as t

from ...blueprints import Blueprint
from ...globals import get_app
from ...helpers import url_for
from .decorators import fresh_login_required as fresh_login_required
from .decorators import login_required as login_required
from .helpers import _cookie_digest as _cookie_digest
from .helpers import _secret_key as _secret_key
from .helpers import AuthenticationRequired as AuthenticationRequired
from .helpers import decode_cookie as decode_cookie
from .helpers import encode_cookie as encode_cookie
from .helpers import is_api_request as is_api_request
from .helpers import is_safe_next_url as is_safe_next_url
from .helpers import login_url as login_url
from .helpers import make_next_param as make_next_param
from .helpers import safe_next_url as safe_next_url
from .login_manager import _get_user as _get_user
from .login_manager import _user_context_processor as _user_context_processor
from .login_manager import confirm_login as confirm_login
from .login_manager import current_user as current_user
from .login_manager import get_login_manager
from .login_manager import login_fresh as login_fresh
from .login_manager import login_remembered as login_remembered
from .login_manager import login_user as login_user
from .login_manager import logout_user as logout_user


def expand_login_view(login_view: str) -> str:
    """The URL of a login view given as an endpoint name or a URL."""
    if login_view.startswith(("https://", "http://", "/")):
        return login_view
    return url_for(login_view)


def set_login_view(login_view: str, blueprint: Blueprint | None = None) -> None:
    """Set the login view of the current app, or of one of its blueprints.

    Once a blueprint has its own, the app-wide one moves to
    ``blueprint_login_views[None]``, the fallback for requests outside those blueprints.
    """
    manager = get_login_manager(get_app("LoginManager"))
    if blueprint is None and not manager.blueprint_login_views:
        manager.login_view = login_view
        return
    key: t.Any = blueprint.name if blueprint is not None else None
    manager.blueprint_login_views[key] = login_view
    if manager.login_view is not None and None not in manager.blueprint_login_views:
        manager.blueprint_login_views[None] = manager.login_view
    manager.login_view = None
