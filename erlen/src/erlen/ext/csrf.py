"""Cross-site request forgery protection, in the style of Flask-WTF's ``CSRFProtect``.

Every state-changing request (``POST``, ``PUT``, ``PATCH``, ``DELETE``) must carry the
token that :func:`csrf_token` hands out, as the ``csrf_token`` form field or an
``X-CSRFToken`` / ``X-CSRF-Token`` header. A random secret is kept in the session; the
token is that secret signed with a timestamp, so it expires after ``CSRF_TIME_LIMIT``
seconds. Views and blueprints authenticated otherwise (bearer tokens) can be exempted::

    csrf = CSRFProtect(app)

    <form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">

    @csrf.exempt
    @api.post("/items")
    def create_item(): ...

A request that fails the check gets :exc:`CSRFError` (400): an HTML page for browsers,
``application/problem+json`` for API clients, with the reason in either (both built by
:mod:`erlen.ext.problems`).

Configuration (each ``CSRF_X`` falls back to Flask-WTF's ``WTF_CSRF_X``):

``CSRF_ENABLED``        check requests at all (default ``True``)
``CSRF_CHECK_DEFAULT``  check every request; ``False`` to call :meth:`CSRFProtect.protect`
                        only where wanted (default ``True``)
``CSRF_METHODS``        methods checked (default ``POST``, ``PUT``, ``PATCH``, ``DELETE``)
``CSRF_FIELD_NAME``     form field and session key (default ``csrf_token``)
``CSRF_HEADERS``        headers read (default ``X-CSRFToken``, ``X-CSRF-Token``)
``CSRF_TIME_LIMIT``     seconds a token is valid; ``None`` for the session's life (3600)
``CSRF_SSL_STRICT``     over HTTPS, require a same-origin ``Referer`` (default ``True``)
``CSRF_TRUSTED_ORIGINS`` other origins accepted by that check (``https://host[:port]``)
``CSRF_SECRET_KEY``     signs the tokens; default ``SECRET_KEY``
"""

from __future__ import annotations

import hmac
import secrets
import typing as t
from urllib.parse import urlsplit

from itsdangerous import BadData
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from markupsafe import escape
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from ..blueprints import Blueprint
from ..globals import get_app_context
from ..globals import get_request_context
from .problems import APIAwareHTTPException

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Erlen
    from ..ctx import RequestContext
    from ..wrappers import Request

_DEFAULTS: dict[str, t.Any] = {
    "ENABLED": True,
    "CHECK_DEFAULT": True,
    "METHODS": ["POST", "PUT", "PATCH", "DELETE"],
    "FIELD_NAME": "csrf_token",
    "HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "TIME_LIMIT": 3600,
    "SSL_STRICT": True,
    "TRUSTED_ORIGINS": [],
    "SECRET_KEY": None,
}
_SALT = "erlen.csrf-token"

Exemptable = t.TypeVar("Exemptable", bound="t.Callable[..., t.Any] | Blueprint | str")


class CSRFError(APIAwareHTTPException, BadRequest):
    """The request failed the CSRF check (400); ``description`` says why.

    Register an error handler for it to answer in the app's own style. Without one, it
    answers through :func:`erlen.ext.problems.error_response`: browsers get a short HTML
    page and API clients ``application/problem+json``.
    """

    description = "CSRF validation failed."
    page_hint = "The form was not accepted. Go back, reload the page and try again."


def _config(app: Erlen, name: str) -> t.Any:
    key = f"CSRF_{name}"
    if key in app.config:
        return app.config[key]
    return app.config.get(f"WTF_{key}", _DEFAULTS[name])


def _serializer(app: Erlen, secret_key: str | bytes | None) -> URLSafeTimedSerializer:
    if secret_key is None:
        secret_key = _config(app, "SECRET_KEY")
    if secret_key is not None:
        keys: list[str | bytes] = [secret_key]
    else:
        if not app.secret_key:
            raise RuntimeError("CSRF tokens need a secret key: set SECRET_KEY.")
        # The session's key rotation applies to the tokens signed with the same key.
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
    return URLSafeTimedSerializer(t.cast("list[str]", keys), salt=_SALT)


def _contexts() -> tuple[Erlen, RequestContext]:
    req_ctx = get_request_context("CSRFProtect")
    return req_ctx.app, req_ctx


def generate_csrf(secret_key: str | bytes | None = None, token_key: str | None = None) -> str:
    """Return a CSRF token for the current session, creating its secret if needed.

    The token is the same for the rest of the request. It stays valid for
    ``CSRF_TIME_LIMIT`` seconds, and only with the session that holds the secret.

    :param secret_key: signs the token; default ``CSRF_SECRET_KEY`` or ``SECRET_KEY``.
    :param token_key: the session key of the secret; default ``CSRF_FIELD_NAME``.
    """
    app, req_ctx = _contexts()
    field = token_key or _config(app, "FIELD_NAME")
    session = req_ctx.session
    raw = session.get(field)
    default_signing = secret_key is None and token_key is None
    g = get_app_context("CSRFProtect").g
    cached = g.get("_csrf_token") if default_signing else None
    # Compared with the session, because logging in empties the session mid-request: a
    # token cached before that would point at a secret that is gone.
    if cached is not None and raw and cached[0] == raw:
        return t.cast(str, cached[1])
    if not isinstance(raw, str) or not raw:
        raw = secrets.token_hex(32)
        session[field] = raw
    token = _serializer(app, secret_key).dumps(raw)
    if default_signing:
        g._csrf_token = (raw, token)
    return token


def csrf_token() -> str:
    """Return the current session's CSRF token; the same as :func:`generate_csrf`.

    Templates have it as a global: ``{{ csrf_token() }}``.
    """
    return generate_csrf()


def csrf_input() -> Markup:
    """Return a hidden form field carrying the CSRF token, for templates."""
    app, _ = _contexts()
    name = escape(_config(app, "FIELD_NAME"))
    return Markup(f'<input type="hidden" name="{name}" value="{escape(generate_csrf())}">')


def validate_csrf(
    data: str | None,
    secret_key: str | bytes | None = None,
    time_limit: int | None = None,
    token_key: str | None = None,
) -> None:
    """Check a CSRF token against the current session; raise :exc:`CSRFError` if it fails.

    :param data: the token the client sent.
    :param time_limit: seconds the token is valid; default ``CSRF_TIME_LIMIT``.
    """
    app, req_ctx = _contexts()
    if not data:
        raise CSRFError("The CSRF token is missing.")
    field = token_key or _config(app, "FIELD_NAME")
    raw = req_ctx.session.get(field)
    if not isinstance(raw, str) or not raw:
        raise CSRFError("The CSRF session token is missing.")
    if time_limit is None:
        time_limit = _config(app, "TIME_LIMIT")
    try:
        signed_raw = _serializer(app, secret_key).loads(data, max_age=time_limit)
    except SignatureExpired:
        raise CSRFError("The CSRF token has expired.") from None
    except BadData:
        raise CSRFError("The CSRF token is invalid.") from None
    if not isinstance(signed_raw, str) or not hmac.compare_digest(raw, signed_raw):
        raise CSRFError("The CSRF tokens do not match.")


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, parts.hostname, port if port is not None else default


class CSRFProtect:
    """Check a CSRF token on every state-changing request of an app.

    :param app: an app to initialise now.
    """

    def __init__(self, app: Erlen | None = None) -> None:
        self._exempt_views: set[str] = set()
        self._exempt_blueprints: set[str] = set()
        self._exempt_blueprint_objects: list[Blueprint] = []
        self._exempt_checks: list[t.Callable[[Request], bool]] = []
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Erlen) -> None:
        """Register on ``app``: the check before each request, and ``csrf_token()`` in
        templates. ``CSRF_*`` settings get their defaults (or Flask-WTF's values)."""
        app.extensions["csrf"] = self
        for name, default in _DEFAULTS.items():
            app.config.setdefault(f"CSRF_{name}", app.config.get(f"WTF_CSRF_{name}", default))
        app.jinja_env.globals["csrf_token"] = csrf_token
        app.jinja_env.globals["csrf_input"] = csrf_input
        app.before_request(self._check_request)

    def exempt(self, view: Exemptable) -> Exemptable:
        """Skip the check for a view function, a blueprint, or a view named by string.

        A string is ``"module.function"`` or an endpoint name. Use it as a decorator on
        views; call it with a blueprint for all of that blueprint's views.
        """
        if isinstance(view, Blueprint):
            self._exempt_blueprints.add(view.name)
            self._exempt_blueprint_objects.append(view)
        elif isinstance(view, str):
            self._exempt_views.add(view)
        else:
            self._exempt_views.add(f"{view.__module__}.{view.__name__}")
        return view

    def exempt_if(self, check: t.Callable[[Request], bool]) -> t.Callable[[Request], bool]:
        """Skip the check for requests ``check(request)`` is true for; usable as a decorator.

        For views that take two kinds of credentials: a request authenticated by a bearer
        token (which a browser never attaches on its own, so it can't be forged cross-site)
        needs no CSRF token, while the same view called with the session cookie does::

            @csrf.exempt_if
            def authenticated_by_token(request):
                return current_user.is_authenticated and "api_token" in g

        ``check`` runs before the view, after the ``before_request`` functions registered
        before the extension's; an exception in it propagates.
        """
        self._exempt_checks.append(check)
        return check

    def _is_exempt(self, app: Erlen, request: Request) -> bool:
        if any(check(request) for check in self._exempt_checks):
            return True
        for name in request.blueprints:
            if name in self._exempt_blueprints:
                return True
            # Registered under another name (``name=`` at registration): compare objects.
            blueprint = app.blueprints.get(name)
            if blueprint is not None and any(
                blueprint is exempt for exempt in self._exempt_blueprint_objects
            ):
                return True
        endpoint = request.endpoint
        if endpoint in self._exempt_views:
            return True
        view = app.view_functions.get(endpoint) if endpoint else None
        if view is None:
            return False
        return f"{view.__module__}.{view.__name__}" in self._exempt_views

    def _check_request(self) -> None:
        app, req_ctx = _contexts()
        if not _config(app, "ENABLED") or not _config(app, "CHECK_DEFAULT"):
            return
        request = req_ctx.request
        if request.method not in _config(app, "METHODS"):
            return
        # No endpoint: the URL didn't match; the 404 or 405 comes next.
        if not request.endpoint or self._is_exempt(app, request):
            return
        self.protect()

    def _token_from_request(self, app: Erlen, request: Request) -> str | None:
        field = _config(app, "FIELD_NAME")
        token = request.form.get(field)
        if token:
            return token
        # Forms with a prefix name the field "<prefix>-csrf_token".
        for key in request.form:
            if key.endswith(field):
                token = request.form[key]
                if token:
                    return token
        for header in _config(app, "HEADERS"):
            token = request.headers.get(header)
            if token:
                return token
        return None

    def protect(self) -> None:
        """Check the current request now; raise :exc:`CSRFError` if it fails.

        Over HTTPS (with ``CSRF_SSL_STRICT``) the ``Referer`` must also be this host (or a
        trusted origin): a network attacker can plant cookies over plain HTTP, but can't
        make the browser send a same-origin Referer.
        """
        app, req_ctx = _contexts()
        request = req_ctx.request
        if request.method not in _config(app, "METHODS"):
            return
        try:
            validate_csrf(self._token_from_request(app, request))
        except CSRFError as e:
            app.logger.info("CSRF check failed: %s", e.description)
            raise
        if request.is_secure and _config(app, "SSL_STRICT"):
            self._check_referrer(app, request)
        get_app_context("CSRFProtect").g.csrf_valid = True

    def _check_referrer(self, app: Erlen, request: Request) -> None:
        referrer = request.referrer
        if not referrer:
            raise CSRFError("The referrer header is missing.")
        origin = _origin(referrer)
        allowed = {_origin(f"https://{request.host}/")}
        allowed.update(_origin(o) for o in _config(app, "TRUSTED_ORIGINS"))
        if origin is None or origin not in allowed:
            raise CSRFError("The referrer does not match the host.")
