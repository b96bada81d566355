"""User sessions, passwords, login throttling and API tokens, in the style of Flask-Login.

``LoginManager`` tracks the logged-in user in the signed session cookie; ``login_user``,
``logout_user``, ``current_user`` and ``login_required`` work as Flask-Login's do. On top:
argon2id password helpers, a fresh session on every login, server-side revocation on
logout (and on every device with ``logout_user(everywhere=True)``), a login throttle
answering 429, and hashed bearer tokens for API clients.

The public API of Flask-Login 0.6, under the same names and submodules
(``login_manager``, ``utils``, ``mixins``, ``config``, ``signals``, ``test_client``,
``__about__``); the differences are listed in ``docs/ext/login.md``.

Requires the ``login`` extra (argon2-cffi, redis).
"""

from __future__ import annotations

from .__about__ import __version__ as __version__
from .config import AUTH_HEADER_NAME as AUTH_HEADER_NAME
from .config import COOKIE_DURATION as COOKIE_DURATION
from .config import COOKIE_HTTPONLY as COOKIE_HTTPONLY
from .config import COOKIE_NAME as COOKIE_NAME
from .config import COOKIE_SECURE as COOKIE_SECURE
from .config import ID_ATTRIBUTE as ID_ATTRIBUTE
from .config import LOGIN_MESSAGE as LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY as LOGIN_MESSAGE_CATEGORY
from .config import REFRESH_MESSAGE as REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY as REFRESH_MESSAGE_CATEGORY
from .decorators import fresh_login_required as fresh_login_required
from .decorators import login_required as login_required
from .helpers import AuthenticationRequired as AuthenticationRequired
from .helpers import decode_cookie as decode_cookie
from .helpers import encode_cookie as encode_cookie
from .helpers import is_api_request as is_api_request
from .helpers import login_url as login_url
from .helpers import make_next_param as make_next_param
from .helpers import safe_next_url as safe_next_url
from .login_manager import confirm_login as confirm_login
from .login_manager import current_user as current_user
from .login_manager import get_login_manager as get_login_manager
from .login_manager import login_fresh as login_fresh
from .login_manager import login_remembered as login_remembered
from .login_manager import login_user as login_user
from .login_manager import LoginManager as LoginManager
from .login_manager import logout_user as logout_user
from .login_manager import revoke_sessions as revoke_sessions
from .login_manager import user_from_session as user_from_session
from .mixins import AnonymousUserMixin as AnonymousUserMixin
from .mixins import UserMixin as UserMixin
from .passwords import hash_password as hash_password
from .passwords import needs_rehash as needs_rehash
from .passwords import verify_and_update as verify_and_update
from .passwords import verify_password as verify_password
from .revocation import MemoryRevocationStore as MemoryRevocationStore
from .revocation import RedisRevocationStore as RedisRevocationStore
from .revocation import RevocationNotShared as RevocationNotShared
from .revocation import RevocationStore as RevocationStore
from .revocation import RevocationUnavailable as RevocationUnavailable
from .signals import session_protected as session_protected
from .signals import session_revoked as session_revoked
from .signals import user_accessed as user_accessed
from .signals import user_loaded_from_cookie as user_loaded_from_cookie
from .signals import user_loaded_from_request as user_loaded_from_request
from .signals import user_logged_in as user_logged_in
from .signals import user_logged_out as user_logged_out
from .signals import user_login_confirmed as user_login_confirmed
from .signals import user_needs_refresh as user_needs_refresh
from .signals import user_sessions_revoked as user_sessions_revoked
from .signals import user_unauthorized as user_unauthorized
from .test_client import FlaskLoginClient as FlaskLoginClient
from .throttle import LoginThrottle as LoginThrottle
from .throttle import MemoryThrottleBackend as MemoryThrottleBackend
from .throttle import RedisThrottleBackend as RedisThrottleBackend
from .throttle import ThrottleBackend as ThrottleBackend
from .throttle import TooManyAttempts as TooManyAttempts
from .tokens import issue_token as issue_token
from .tokens import MemoryTokenStore as MemoryTokenStore
from .tokens import revoke_token as revoke_token
from .tokens import token_request_loader as token_request_loader
from .tokens import TokenRecord as TokenRecord
from .tokens import TokenStore as TokenStore
from .tokens import verify_token as verify_token
from .utils import set_login_view as set_login_view
