"""Helpers for login URLs, safe redirects, the 401 error, and backend URLs.

Nothing here depends on the login manager, so the manager, the token helpers and the
throttle can all import it. Telling API clients apart is :mod:`erlen.ext.problems`' job.
"""

from __future__ import annotations

import hashlib
import hmac
import typing as t
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from werkzeug.exceptions import Unauthorized

from ...globals import current_app_context
from ...globals import current_request_context
from ...helpers import url_for
from ..problems import APIAwareHTTPException as APIAwareHTTPException
from ..problems import is_api_request as is_api_request

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from redis import Redis

    from ...app import Erlen


class AuthenticationRequired(APIAwareHTTPException, Unauthorized):
    """401 for a request that needs a logged-in user.

    Answered through :func:`erlen.ext.problems.error_response`: API clients (see
    :func:`is_api_request`) get an ``application/problem+json`` problem whose ``detail`` is
    the description, browsers an HTML page. Both get a ``WWW-Authenticate: Bearer``
    challenge, which names RFC 6750's ``invalid_token`` error when the request's bearer
    token was refused. Register an error handler for 401 to answer differently.
    """

    description = "You must log in to access this resource."

    def __init__(self, description: str | None = None, *, token_error: str | None = None):
        super().__init__(description)
        #: RFC 6750 error code, when a bearer token was presented and refused.
        self.token_error = token_error

    def get_headers(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> list[tuple[str, str]]:
        """The headers, with the ``WWW-Authenticate`` challenge."""
        challenge = "Bearer" if self.token_error is None else f'Bearer error="{self.token_error}"'
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", challenge)]


def _secret_key(key: str | bytes | None = None) -> bytes:
    """``key``, or the current app's ``SECRET_KEY``, as bytes (a str is read as latin-1)."""
    if key is None:
        app_ctx = current_app_context()
        if app_ctx is None:
            raise RuntimeError("A secret key is needed: pass one, or work in an app context.")
        key = app_ctx.app.config["SECRET_KEY"]
    if isinstance(key, str):
        return key.encode("latin1")
    return t.cast(bytes, key)


def _cookie_digest(payload: str, key: str | bytes | None = None) -> str:
    return hmac.new(_secret_key(key), payload.encode("utf-8"), hashlib.sha512).hexdigest()


def encode_cookie(payload: str, key: str | bytes | None = None) -> str:
    """Sign ``payload`` with HMAC-SHA512: ``"payload|digest"`` (Flask-Login's format).

    The login manager's own remember cookie is signed with :mod:`itsdangerous` instead and
    carries more (see :mod:`~erlen.ext.login.login_manager`); this is for apps that set a
    cookie of their own in Flask-Login's format.

    :param key: The key; default: the current app's ``SECRET_KEY``.
    """
    return f"{payload}|{_cookie_digest(payload, key=key)}"


def decode_cookie(cookie: str, key: str | bytes | None = None) -> str | None:
    """The payload of a cookie made by :func:`encode_cookie`, or ``None`` if its signature
    is wrong or missing.
    """
    payload, sep, digest = cookie.rpartition("|")
    if not sep:
        return None
    if hmac.compare_digest(_cookie_digest(payload, key=key), digest):
        return payload
    return None


def make_next_param(login_url: str, current_url: str) -> str:
    """Shorten ``current_url`` to a path and query when it is on the login page's host.

    A relative ``next`` is the only kind :func:`safe_next_url` follows, so it must be made
    relative here for the round trip to work.
    """
    login = urlsplit(login_url)
    current = urlsplit(current_url)
    same_scheme = not login.scheme or login.scheme == current.scheme
    same_host = not login.netloc or login.netloc == current.netloc
    if same_scheme and same_host:
        return urlunsplit(("", "", current.path, current.query, ""))
    return current_url


def expand_login_view(login_view: str) -> str:
    """The URL of a login view given as an endpoint name or a URL (absolute, or a path)."""
    if login_view.startswith(("https://", "http://", "/")):
        return login_view
    return url_for(login_view)


def login_url(login_view: str, next_url: str | None = None, next_field: str = "next") -> str:
    """Build the URL of the login page, with the page to come back to as ``next_field``.

    ``FORCE_HOST_FOR_REDIRECTS``, when set, is the host of the URL (so a spoofed ``Host``
    header can't send the user elsewhere).

    :param login_view: an endpoint name, or a URL (absolute, or starting with ``/``).
    :param next_url: where to send the user after logging in.
    :param next_field: the query argument that carries ``next_url``.
    """
    base = expand_login_view(login_view)
    if next_url is None:
        return base

    parts = urlsplit(base)
    args = dict(parse_qsl(parts.query, keep_blank_values=True))
    args[next_field] = make_next_param(base, next_url)
    netloc = parts.netloc
    app_ctx = current_app_context()
    if app_ctx is not None:
        netloc = app_ctx.app.config.get("FORCE_HOST_FOR_REDIRECTS") or netloc
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(sorted(args.items()))))


def is_safe_next_url(target: str | None) -> bool:
    """Tell whether ``target`` is a same-site relative URL that is safe to redirect to.

    Only paths are accepted: ``/account?tab=1``. Anything that a browser could read as
    another site is refused: absolute URLs, scheme-relative ``//host``, backslashes (which
    browsers treat as slashes), and control characters or spaces (browsers drop some of
    them, turning ``/\\t/evil.example`` into ``//evil.example``).
    """
    if not target or not target.startswith("/"):
        return False
    if "\\" in target or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return False
    if target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next_url(target: str | None = None, default: str = "/") -> str:
    """Return where to go after logging in: the ``next`` target if safe, else ``default``.

    ``target`` defaults to the request's ``next`` query or form argument (or the session's
    ``next`` when ``USE_SESSION_FOR_NEXT`` is set, which is then forgotten). Open
    redirects are refused: see :func:`is_safe_next_url`.
    """
    if target is None:
        req_ctx = current_request_context()
        if req_ctx is not None:
            app = req_ctx.app
            if app.config.get("USE_SESSION_FOR_NEXT"):
                target = req_ctx.session.pop("next", None)
            else:
                values = req_ctx.request.values
                target = values.get("next")
    if is_safe_next_url(target):
        return t.cast(str, target)
    return default


#: Seconds a Redis command or connection attempt of the login extensions may take.
REDIS_TIMEOUT = 2.0


def redis_from_config(app: Erlen) -> Redis | None:
    """Return a Redis client for ``REDIS_URL``, shared by the login extensions of one app.

    ``None`` when the URL is unset or ``memory://``: the in-memory backends are used.
    """
    url = app.config.get("REDIS_URL") or "memory://"
    if url.startswith("memory://"):
        return None
    cache = app.extensions.setdefault("login.redis", {})
    client = cache.get(url)
    if client is None:
        import redis

        # Bounded: a Redis that stops answering must not hold requests forever.
        client = cache[url] = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
    return t.cast("Redis", client)


def key_prefix(app: Erlen) -> str:
    """The namespace for every Redis key (``KEY_PREFIX``, default ``erlen``)."""
    return str(app.config.get("KEY_PREFIX") or "erlen")
