"""The login manager: who the current user is, the remember-me cookie, and revocation.

Logged-in state lives in the signed session cookie under these keys:

``_user_id``   what the user loader receives
``_fresh``     whether the user typed their password in this session
``_sid``       a random id for this login, new at every :func:`login_user`
``_epoch``     the user's session epoch at login
``_id``        a hash of the client's address and User-Agent (session protection)
``_rexp``      when the remember cookie of this login expires

A session is honoured only while its ``_sid`` is not revoked (logging out revokes it) and
its ``_epoch`` equals the user's current one (logging out everywhere bumps it). The
remember cookie carries the same id and epoch, so both checks apply to it too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from itsdangerous import BadData
from itsdangerous import URLSafeSerializer
from werkzeug.local import LocalProxy

from ...globals import current_request_context
from ...globals import get_app
from ...globals import get_app_context
from ...globals import get_request_context
from ...helpers import flash
from ...helpers import redirect
from .helpers import AuthenticationRequired
from .helpers import expand_login_view
from .helpers import is_api_request
from .helpers import login_url
from .helpers import make_next_param
from .mixins import AnonymousUserMixin
from .mixins import user_epoch
from .revocation import revocation_store_from_config
from .revocation import RevocationNotShared
from .signals import session_protected
from .signals import session_revoked
from .signals import user_accessed
from .signals import user_loaded_from_cookie
from .signals import user_loaded_from_request
from .signals import user_logged_in
from .signals import user_logged_out
from .signals import user_login_confirmed
from .signals import user_needs_refresh
from .signals import user_sessions_revoked
from .signals import user_unauthorized

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.wrappers import Response as BaseResponse

    from ...app import Erlen
    from ...ctx import RequestContext
    from ...sessions import SessionMixin
    from ...wrappers import Request
    from ...wrappers import Response
    from .revocation import RevocationStore
    from .tokens import TokenStore

UserLoader = t.Callable[[str], t.Any]
RequestLoader = t.Callable[["Request"], t.Any]
EpochBumper = t.Callable[[t.Any], object]
ViewResponder = t.Callable[[], t.Any]

T_user_loader = t.TypeVar("T_user_loader", bound=UserLoader)
T_request_loader = t.TypeVar("T_request_loader", bound=RequestLoader)
T_epoch_bumper = t.TypeVar("T_epoch_bumper", bound=EpochBumper)
T_responder = t.TypeVar("T_responder", bound=ViewResponder)

#: The session keys that make up a login; logging out removes them.
LOGIN_SESSION_KEYS = ("_user_id", "_fresh", "_id", "_sid", "_epoch", "_rexp", "_remember_seconds")

COOKIE_NAME = "remember_token"
COOKIE_DURATION = timedelta(days=365)
_REMEMBER_SALT = "erlen.login.remember-cookie"
# Revocations outlive the cookies they cover by this much, for clock skew between hosts.
_REVOCATION_SLACK = 60.0

logger = logging.getLogger("erlen.ext.login")


def _new_session_id() -> str:
    return secrets.token_urlsafe(18)


def _app() -> Erlen:
    return get_app("LoginManager")


def _request_ctx() -> RequestContext:
    return get_request_context("LoginManager")


def get_login_manager(app: Erlen | None = None) -> LoginManager:
    """Return the :class:`LoginManager` registered on ``app`` (default: the current app)."""
    app = app if app is not None else _app()
    manager = app.extensions.get("login")
    if manager is None:
        raise RuntimeError(
            "No LoginManager is set up for this app. Create one and call"
            " 'login_manager.init_app(app)'."
        )
    return t.cast(LoginManager, manager)


class LoginManager:
    """Keeps track of the logged-in user across requests, in the style of Flask-Login.

    :param app: an app to initialise now.
    :param add_context_processor: whether templates get ``current_user``.
    :param token_store: where API tokens live (see :mod:`erlen.ext.login.tokens`).
    :param revocations: where logged-out session ids are kept. Without one,
        :meth:`init_app` builds it from ``REDIS_URL``/``KEY_PREFIX``: Redis when set,
        else memory (fine for one process; several processes need Redis).
    """

    def __init__(
        self,
        app: Erlen | None = None,
        add_context_processor: bool = True,
        *,
        token_store: TokenStore | None = None,
        revocations: RevocationStore | None = None,
    ) -> None:
        #: The class of the user object for "nobody is logged in".
        self.anonymous_user: type[t.Any] = AnonymousUserMixin
        #: The endpoint (or URL) of the login page; without one, 401.
        self.login_view: str | None = None
        #: Login pages per blueprint name, tried before :attr:`login_view`.
        self.blueprint_login_views: dict[str | None, str] = {}
        self.login_message: str | None = "Please log in to access this page."
        self.login_message_category = "message"
        #: The endpoint (or URL) of the re-authentication page for fresh logins.
        self.refresh_view: str | None = None
        self.needs_refresh_message: str | None = (
            "To protect your account, please reauthenticate to access this page."
        )
        self.needs_refresh_message_category = "message"
        #: ``"basic"``, ``"strong"`` or ``None``; the ``SESSION_PROTECTION`` config wins.
        self.session_protection: str | None = "basic"
        #: Translates flashed messages, if set.
        self.localize_callback: t.Callable[[str], str] | None = None
        #: The user method giving the id to store in the session.
        self.id_attribute = "get_id"
        #: Session keys that survive :func:`login_user`; everything else is dropped.
        self.session_keys_kept: tuple[str, ...] = ("_permanent", "next")
        self.token_store = token_store
        self.revocations = revocations

        self._user_callback: UserLoader | None = None
        self._request_callback: RequestLoader | None = None
        self._unauthorized_callback: ViewResponder | None = None
        self._needs_refresh_callback: ViewResponder | None = None
        self._epoch_bumper: EpochBumper | None = None

        if app is not None:
            self.init_app(app, add_context_processor)

    def init_app(self, app: Erlen, add_context_processor: bool = True) -> None:
        """Register on ``app``: after-request cookie handling and ``current_user``."""
        app.extensions["login"] = self
        # Flask-Login's attribute; code written for it looks the manager up here.
        setattr(app, "login_manager", self)  # noqa: B010
        if self.revocations is None:
            app.extensions["login.revocations"] = revocation_store_from_config(app)
        app.after_request(self._update_remember_cookie)
        if add_context_processor:
            app.context_processor(_user_context_processor)

    # -- callbacks -------------------------------------------------------------------------

    def user_loader(self, callback: T_user_loader) -> T_user_loader:
        """Register the function that returns the user for a session's user id, or ``None``."""
        self._user_callback = callback
        return callback

    def request_loader(self, callback: T_request_loader) -> T_request_loader:
        """Register the function that returns a user from the request itself, or ``None``.

        It is tried when the session holds no user, e.g. for ``Authorization: Bearer``
        (see :func:`~erlen.ext.login.tokens.token_request_loader`).
        """
        self._request_callback = callback
        return callback

    def unauthorized_handler(self, callback: T_responder) -> T_responder:
        """Register the function that answers a request that needs a login."""
        self._unauthorized_callback = callback
        return callback

    def needs_refresh_handler(self, callback: T_responder) -> T_responder:
        """Register the function that answers a request that needs a fresh login."""
        self._needs_refresh_callback = callback
        return callback

    def epoch_bumper(self, callback: T_epoch_bumper) -> T_epoch_bumper:
        """Register the function that increments a user's session epoch and saves it.

        It is called with the user by ``logout_user(everywhere=True)`` and
        :func:`revoke_sessions`; every session and remember cookie from an older epoch
        then stops working::

            @login_manager.epoch_bumper
            def bump(user):
                user.session_epoch += 1
                db.session.commit()
        """
        self._epoch_bumper = callback
        return callback

    # -- answering requests without (fresh) login ---------------------------------------------

    def _localize(self, message: str) -> str:
        return self.localize_callback(message) if self.localize_callback else message

    def _view_for(self, request: Request, default: str | None) -> str | None:
        for name in request.blueprints:
            if name in self.blueprint_login_views:
                return self.blueprint_login_views[name]
        # set_login_view() moves the app-wide view here once blueprints have their own.
        return default if default is not None else self.blueprint_login_views.get(None)

    def _redirect_to(self, view: str) -> BaseResponse:
        """Redirect to a login (or refresh) view, with the current page as ``next``.

        With ``USE_SESSION_FOR_NEXT`` the page goes in the session's ``next`` instead of
        the URL.
        """
        req_ctx = _request_ctx()
        request = req_ctx.request
        if not req_ctx.app.config.get("USE_SESSION_FOR_NEXT"):
            return redirect(login_url(view, next_url=request.url))
        session = req_ctx.session
        session["next"] = make_next_param(expand_login_view(view), request.url)
        if self._protection_mode() is not None:
            # The session now belongs to this client, which strong protection checks.
            session["_id"] = self._session_identifier()
        return redirect(login_url(view))

    def unauthorized(self) -> t.Any:
        """Answer a request that needs a logged-in user.

        Calls the :meth:`unauthorized_handler` if there is one. Otherwise API clients (see
        :func:`~erlen.ext.login.helpers.is_api_request`) get 401 JSON with
        ``WWW-Authenticate``; browsers are redirected to :attr:`login_view` with ``next``
        set to the current page (with :attr:`login_message` flashed), or get 401 when no
        login view is set.
        """
        app = _app()
        if user_unauthorized.receivers:
            user_unauthorized.send(app, _async_wrapper=app.ensure_sync)
        if self._unauthorized_callback is not None:
            return self._unauthorized_callback()

        request = _request_ctx().request
        if is_api_request(request.environ):
            token_error = _app_ctx_g().get("_login_token_error")
            raise AuthenticationRequired(token_error=token_error)
        view = self._view_for(request, self.login_view)
        if not view:
            raise AuthenticationRequired()
        if self.login_message:
            flash(self._localize(self.login_message), self.login_message_category)
        return self._redirect_to(view)

    def needs_refresh(self) -> t.Any:
        """Answer a request that needs a fresh login; like :meth:`unauthorized`."""
        app = _app()
        if user_needs_refresh.receivers:
            user_needs_refresh.send(app, _async_wrapper=app.ensure_sync)
        if self._needs_refresh_callback is not None:
            return self._needs_refresh_callback()

        request = _request_ctx().request
        if is_api_request(request.environ) or not self.refresh_view:
            raise AuthenticationRequired(
                "You must log in again (a fresh login) to access this resource."
            )
        if self.needs_refresh_message:
            flash(self._localize(self.needs_refresh_message), self.needs_refresh_message_category)
        return self._redirect_to(self.refresh_view)

    # -- loading the user -----------------------------------------------------------------

    def revocation_store(self, app: Erlen | None = None) -> RevocationStore:
        """The store of revoked session ids used for ``app`` (default: the current one)."""
        if self.revocations is not None:
            return self.revocations
        app = app if app is not None else _app()
        return t.cast("RevocationStore", app.extensions["login.revocations"])

    def _set_user(self, user: t.Any | None) -> None:
        """Make ``user`` (or an anonymous user) this request's ``current_user``."""
        _app_ctx_g()._login_user = user if user is not None else self.anonymous_user()

    def _load_user(self) -> None:
        """Find this request's user: session, then remember cookie, then request loader."""
        if self._user_callback is None and self._request_callback is None:
            raise RuntimeError(
                "Missing user_loader or request_loader. Register one with"
                " '@login_manager.user_loader'."
            )
        app = _app()
        if user_accessed.receivers:
            user_accessed.send(app, _async_wrapper=app.ensure_sync)
        req_ctx = _request_ctx()
        session = req_ctx.session

        user = None
        user_id = session.get("_user_id")
        if (
            user_id is not None
            and not self._session_protection_failed(session)
            # With only a request loader, the session's login is the request loader's to read.
            and self._user_callback is not None
        ):
            user = self._user_callback(user_id)
            if user is None or not self._login_still_valid(app, session, user):
                self._forget_login(session, req_ctx.request)
                user = None

        if user is None:
            cookie = req_ctx.request.cookies.get(_cookie_name(app))
            if cookie and session.get("_remember") != "clear":
                user = self._load_user_from_remember_cookie(app, session, cookie)
        if user is None and self._request_callback is not None:
            user = self._request_callback(req_ctx.request)
            if user is not None and user_loaded_from_request.receivers:
                user_loaded_from_request.send(app, _async_wrapper=app.ensure_sync, user=user)
        self._set_user(user)

    def _login_still_valid(self, app: Erlen, session: SessionMixin, user: t.Any) -> bool:
        """Whether the session's login was neither logged out nor outdated by an epoch bump."""
        return _login_valid(session, user, self.revocation_store(app))

    def _forget_login(self, session: SessionMixin, request: Request) -> None:
        for key in LOGIN_SESSION_KEYS:
            session.pop(key, None)
        if _cookie_name(_app()) in request.cookies:
            session["_remember"] = "clear"

    def _session_identifier(self) -> str:
        request = _request_ctx().request
        agent = request.headers.get("User-Agent", "")
        raw = f"{request.remote_addr}|{agent}"
        return hashlib.sha512(raw.encode("utf-8", "replace")).hexdigest()

    def _protection_mode(self) -> str | None:
        mode = _app().config.get("SESSION_PROTECTION", self.session_protection)
        return mode if mode in ("basic", "strong") else None

    def _session_protection_failed(self, session: SessionMixin) -> bool:
        """Check that the session is used by the client that logged in.

        A different address or browser marks the login not fresh (``"basic"``, and always
        for permanent sessions) or ends it (``"strong"``).
        """
        mode = self._protection_mode()
        if mode is None or session.get("_id") == self._session_identifier():
            return False
        app = _app()
        if mode == "basic" or session.permanent:
            if session.get("_fresh") is not False:
                session["_fresh"] = False
            failed = False
        else:
            self._forget_login(session, _request_ctx().request)
            session["_remember"] = "clear"
            failed = True
        if session_protected.receivers:
            session_protected.send(app, _async_wrapper=app.ensure_sync)
        return failed

    # -- the remember-me cookie -----------------------------------------------------------

    def _serializer(self, app: Erlen) -> URLSafeSerializer:
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
        return URLSafeSerializer(keys, salt=_REMEMBER_SALT)

    def _decode_remember_cookie(self, app: Erlen, cookie: str) -> dict[str, t.Any] | None:
        """Return the cookie's payload if it is signed by us, well formed and unexpired."""
        try:
            data = self._serializer(app).loads(cookie)
        except BadData:
            return None
        if not isinstance(data, dict):
            return None
        user_id, epoch, session_id, expires = (data.get(k) for k in ("u", "e", "s", "x"))
        if not (
            isinstance(user_id, str)
            and isinstance(epoch, int)
            and isinstance(session_id, str)
            and isinstance(expires, int)
        ):
            return None
        if expires <= time.time():
            return None
        return data

    def _load_user_from_remember_cookie(
        self, app: Erlen, session: SessionMixin, cookie: str
    ) -> t.Any | None:
        """Restore a login from the remember cookie, or mark the cookie for deletion."""
        data = self._decode_remember_cookie(app, cookie)
        user = None
        if data is not None and not self.revocation_store(app).is_revoked(data["s"]):
            if self._user_callback is not None:
                user = self._user_callback(data["u"])
            if user is not None and user_epoch(user) != data["e"]:
                user = None
        if user is None or data is None:
            session["_remember"] = "clear"
            return None

        # The restored login continues the one that set the cookie (same id), so logging
        # out of either revokes both.
        for key in LOGIN_SESSION_KEYS:
            session.pop(key, None)
        session["_user_id"] = data["u"]
        session["_fresh"] = False
        session["_sid"] = data["s"]
        session["_epoch"] = data["e"]
        session["_rexp"] = data["x"]
        if self._protection_mode() is not None:
            session["_id"] = self._session_identifier()
        if user_loaded_from_cookie.receivers:
            user_loaded_from_cookie.send(app, _async_wrapper=app.ensure_sync, user=user)
        return user

    def _update_remember_cookie(self, response: Response) -> Response:
        """After each request, set or delete the remember cookie as the session asks."""
        req_ctx = current_request_context()
        if req_ctx is None:
            return response
        app = req_ctx.app
        refresh = app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
        if not req_ctx.session_opened and not (
            refresh and _cookie_name(app) in req_ctx.request.cookies
        ):
            # Every login change opens the session; an unopened one asks for nothing.
            return response
        session = req_ctx._session
        if (
            "_remember" not in session
            and refresh
            and "_user_id" in session
            and _cookie_name(app) in req_ctx.request.cookies
        ):
            session["_remember"] = "set"
        if "_remember" not in session:
            return response
        operation = session.pop("_remember")
        if operation == "set" and "_user_id" in session:
            self._set_cookie(response)
        elif operation == "clear":
            self._clear_cookie(app, response)
        return response

    def _set_cookie(self, response: Response) -> None:
        req_ctx = _request_ctx()
        app, session = req_ctx.app, req_ctx.session
        config = app.config
        seconds = session.pop("_remember_seconds", None)
        duration = (
            timedelta(seconds=seconds)
            if seconds is not None
            else _as_timedelta(config.get("REMEMBER_COOKIE_DURATION", COOKIE_DURATION))
        )
        expires = datetime.now(UTC) + duration
        if not session.get("_sid"):
            session["_sid"] = _new_session_id()
        payload = {
            "u": str(session["_user_id"]),
            "e": int(session.get("_epoch", 0)),
            "s": session["_sid"],
            "x": int(expires.timestamp()),
        }
        session["_rexp"] = payload["x"]
        response.set_cookie(
            _cookie_name(app),
            self._serializer(app).dumps(payload),
            expires=expires,
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            secure=config.get("REMEMBER_COOKIE_SECURE", config.get("SESSION_COOKIE_SECURE", False)),
            httponly=config.get("REMEMBER_COOKIE_HTTPONLY", True),
            samesite=config.get("REMEMBER_COOKIE_SAMESITE", "Lax"),
        )

    def _clear_cookie(self, app: Erlen, response: Response) -> None:
        config = app.config
        response.delete_cookie(
            _cookie_name(app),
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            secure=config.get("REMEMBER_COOKIE_SECURE", config.get("SESSION_COOKIE_SECURE", False)),
            httponly=config.get("REMEMBER_COOKIE_HTTPONLY", True),
            samesite=config.get("REMEMBER_COOKIE_SAMESITE", "Lax"),
        )

    # -- revocation -----------------------------------------------------------------------

    def _revocation_ttl(self, app: Erlen, session: SessionMixin) -> float:
        """How long a revoked id must be remembered: as long as any cookie carrying it lives.

        A session cookie is refused once older than the permanent session lifetime; a
        remember cookie lives until its expiry, at most the configured duration unless
        ``login_user(duration=...)`` asked for longer.
        """
        longest = max(
            self._longest_cookie_life(app), float(session.get("_rexp") or 0) - time.time()
        )
        return longest + _REVOCATION_SLACK

    def _longest_cookie_life(self, app: Erlen) -> float:
        """Seconds the configured session and remember cookies can live."""
        remember = _as_timedelta(app.config.get("REMEMBER_COOKIE_DURATION", COOKIE_DURATION))
        return max(app.permanent_session_lifetime.total_seconds(), remember.total_seconds())

    def _revoke_current_login(self, app: Erlen, req_ctx: RequestContext) -> None:
        """Revoke the session's login id, and the one in the request's remember cookie."""
        session = req_ctx.session
        ttl = self._revocation_ttl(app, session)
        store = self.revocation_store(app)
        session_id = session.get("_sid")
        to_revoke: list[tuple[str, float]] = []
        if session_id:
            to_revoke.append((session_id, ttl))
        cookie = req_ctx.request.cookies.get(_cookie_name(app))
        data = self._decode_remember_cookie(app, cookie) if cookie else None
        if data is not None and data["s"] != session_id:
            to_revoke.append((data["s"], max(ttl, data["x"] - time.time() + _REVOCATION_SLACK)))
        not_shared: RevocationNotShared | None = None
        for login_id, login_ttl in to_revoke:
            try:
                store.revoke(login_id, login_ttl)
            except RevocationNotShared as e:
                not_shared = e  # recorded here; revoke the rest, then report it
        if to_revoke and session_revoked.receivers:
            session_revoked.send(
                app, _async_wrapper=app.ensure_sync, session_ids=[i for i, _ in to_revoke]
            )
        if not_shared is not None:
            raise not_shared

    def bump_epoch(self, user: t.Any) -> None:
        """Call the :meth:`epoch_bumper` for ``user``: all its sessions stop working."""
        if self._epoch_bumper is None:
            raise RuntimeError(
                "Revoking every session of a user needs an epoch bumper: register a function"
                " with '@login_manager.epoch_bumper' that increments the user's session"
                " epoch and saves it."
            )
        self._epoch_bumper(user)
        app = _app()
        # The floor lets services without the user table (the realtime service) refuse
        # the older sessions too; a session cookie lives at most this long.
        user_id = str(getattr(user, self.id_attribute)())
        epoch = user_epoch(user)
        ttl = self._longest_cookie_life(app) + _REVOCATION_SLACK
        try:
            self.revocation_store(app).revoke_epochs_before(user_id, epoch, ttl)
        except RevocationNotShared as e:
            # The bumped epoch is saved with the user, which every process that loads
            # users checks; only services without the user table miss the floor.
            logger.warning(
                "Ended every session of user %s, but could not record it for services"
                " without the user table (%s).",
                user_id,
                e,
            )
        if user_sessions_revoked.receivers:
            user_sessions_revoked.send(
                app, _async_wrapper=app.ensure_sync, user=user, user_id=user_id, epoch=epoch
            )


def _login_valid(data: t.Mapping[str, t.Any], user: t.Any, revocations: RevocationStore) -> bool:
    if data.get("_epoch", 0) != user_epoch(user):
        return False
    session_id = data.get("_sid")
    return not (session_id and revocations.is_revoked(session_id))


def user_from_session(
    data: t.Mapping[str, t.Any],
    load_user: t.Callable[[str], t.Any],
    revocations: RevocationStore,
) -> t.Any | None:
    """Return the user a session is logged in as, if that login is still valid.

    For services that read the web app's session cookie outside of a request, such as
    the realtime handshake: ``data`` is the decoded cookie. The same checks as for a
    request apply: the login must not be logged out (pass the web app's revocation store,
    Redis in production) nor predate the user's session epoch. Session protection and
    the remember cookie are not looked at.
    """
    user_id = data.get("_user_id")
    if user_id is None:
        return None
    session_id = data.get("_sid")
    if session_id and revocations.is_revoked(session_id):
        return None
    user = load_user(user_id)
    if user is None or not _login_valid(data, user, revocations):
        return None
    return user


def _app_ctx_g() -> t.Any:
    return get_app_context("LoginManager").g


def _cookie_name(app: Erlen) -> str:
    return str(app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME))


def _as_timedelta(value: timedelta | int | float) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return timedelta(seconds=value)
    except TypeError:
        # Flask-Login's wording; a number of seconds is accepted too.
        raise TypeError(
            f"REMEMBER_COOKIE_DURATION must be a datetime.timedelta, instead got: {value}"
        ) from None


def _get_user() -> t.Any | None:
    """Return the current user, loading it on first use in the request; ``None`` outside."""
    if current_request_context() is None:
        return None
    g = _app_ctx_g()
    if "_login_user" not in g:
        get_login_manager()._load_user()
    return g._login_user


def _user_context_processor() -> dict[str, t.Any]:
    return {"current_user": _get_user()}


#: The logged-in user, or an anonymous user; ``None`` outside a request.
current_user: t.Any = LocalProxy(_get_user)


def login_user(
    user: t.Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool:
    """Log ``user`` in for this session; return whether it happened.

    The session is emptied first (keeping only the manager's ``session_keys_kept``) and
    gets a new login id, so whatever a session held before login, including one planted
    by an attacker, carries nothing over. A login that was already in the session is
    revoked.

    :param user: the user object.
    :param remember: also set the remember-me cookie, restoring the login after the
        session cookie is gone.
    :param duration: how long the remember cookie lasts; default
        ``REMEMBER_COOKIE_DURATION``.
    :param force: log in even if ``user.is_active`` is false.
    :param fresh: whether this login counts as fresh (the user just authenticated).
    """
    if not force and not user.is_active:
        return False
    if duration is not None and not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a datetime.timedelta, instead got: {duration}")

    app = _app()
    req_ctx = _request_ctx()
    manager = get_login_manager(app)
    session = req_ctx.session
    user_id = getattr(user, manager.id_attribute)()

    if session.get("_user_id") is not None:
        manager._revoke_current_login(app, req_ctx)
    kept = {key: session[key] for key in manager.session_keys_kept if key in session}
    session.clear()
    session.update(kept)
    session["_user_id"] = user_id
    session["_fresh"] = fresh
    session["_sid"] = _new_session_id()
    session["_epoch"] = user_epoch(user)
    if manager._protection_mode() is not None:
        session["_id"] = manager._session_identifier()
    if remember:
        session["_remember"] = "set"
        if duration is not None:
            session["_remember_seconds"] = duration.total_seconds()
    elif _cookie_name(app) in req_ctx.request.cookies:
        # A remember cookie of an earlier login must not outlive this one.
        session["_remember"] = "clear"

    manager._set_user(user)
    if user_logged_in.receivers:
        user_logged_in.send(app, _async_wrapper=app.ensure_sync, user=user)
    return True


def logout_user(everywhere: bool = False) -> bool:
    """Log the current user out; their session and remember cookies stop working.

    The login's id is revoked server-side, so a copy of the session or remember cookie
    taken before logout is refused afterwards.

    :param everywhere: also end every other session of the user, on every device, by
        bumping their session epoch (needs :meth:`LoginManager.epoch_bumper`).
    """
    app = _app()
    req_ctx = _request_ctx()
    manager = get_login_manager(app)
    user = _get_user()
    if everywhere and user is not None and user.is_authenticated:
        manager.bump_epoch(user)

    session = req_ctx.session
    try:
        manager._revoke_current_login(app, req_ctx)
    except RevocationNotShared as e:
        # Only this process knows the login ended: elsewhere, a copy of its cookie would
        # work until the revocation list is back. Ending every session of the user is
        # recorded in the database instead, which every process checks; without an epoch
        # bumper the logout still ends here, with a warning.
        fallback = manager._epoch_bumper is not None and user is not None and not everywhere
        fallback = fallback and bool(getattr(user, "is_authenticated", False))
        logger.warning(
            "The revocation list is unreachable (%s): %s.",
            e,
            "ending every session of the user instead"
            if fallback
            else "a copy of this login's cookie works elsewhere until it is back",
        )
        if fallback:
            manager.bump_epoch(user)
    for key in LOGIN_SESSION_KEYS:
        session.pop(key, None)
    if _cookie_name(app) in req_ctx.request.cookies:
        session["_remember"] = "clear"

    if user_logged_out.receivers:
        user_logged_out.send(app, _async_wrapper=app.ensure_sync, user=user)
    manager._set_user(None)
    return True


def revoke_sessions(user: t.Any) -> None:
    """End every session and remember cookie of ``user`` (after a password change, say).

    Calls the :meth:`LoginManager.epoch_bumper`. To stay logged in in the current
    session, call :func:`login_user` again afterwards.
    """
    get_login_manager().bump_epoch(user)


def confirm_login() -> None:
    """Mark the current login fresh again, after the user re-entered their password."""
    app = _app()
    manager = get_login_manager(app)
    session = _request_ctx().session
    session["_fresh"] = True
    if manager._protection_mode() is not None:
        session["_id"] = manager._session_identifier()
    if user_login_confirmed.receivers:
        user_login_confirmed.send(app, _async_wrapper=app.ensure_sync)


def login_fresh() -> bool:
    """Whether the current login is fresh: the password was typed in this session."""
    return bool(_request_ctx().session.get("_fresh", False))


def login_remembered() -> bool:
    """Whether the request's remember cookie belongs to the current login."""
    app = _app()
    req_ctx = _request_ctx()
    # Loading the user first restores a login from the cookie, as reading current_user does.
    _get_user()
    cookie = req_ctx.request.cookies.get(_cookie_name(app))
    if not cookie:
        return False
    data = get_login_manager(app)._decode_remember_cookie(app, cookie)
    session = req_ctx.session
    return (
        data is not None
        and data["u"] == session.get("_user_id")
        and data["s"] == session.get("_sid")
    )
