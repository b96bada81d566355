"""Sessions: the session object, the pluggable interface, and the default signed cookie one.

The default interface keeps the whole session in a cookie signed with the app's
``SECRET_KEY`` (via itsdangerous): the client can read it but cannot change it.
"""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import typing as t
from datetime import datetime
from datetime import UTC

from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from . import _fastpaths
from .json.tag import TaggedJSONSerializer

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import Erlen
    from .wrappers import Request
    from .wrappers import Response


class SessionMixin(cabc.MutableMapping[str, t.Any]):
    """The attributes a session object has on top of being a mutable mapping."""

    @property
    def permanent(self) -> bool:
        """Whether the session outlives the browser session; stored as the ``_permanent`` key.

        A permanent session's cookie expires after
        :attr:`~erlen.Erlen.permanent_session_lifetime`.
        """
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was just created. Not every backend can tell, so this is only a
    #: hint; the mixin always says ``False``.
    new = False

    #: Whether the session was changed during the request. Backends that can't track changes
    #: leave this ``True`` so the session is always saved.
    modified = True

    #: Whether the session was read or written during the request. The request context sets
    #: it whenever the session is looked up through it (so does the :data:`.session` proxy),
    #: and the default interface adds ``Vary: Cookie`` to the response when it is set.
    #:
    #: Set by the request context on every access.
    accessed = False


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """The session class of the signed cookie interface.

    Any change sets :attr:`modified`; any read or change sets :attr:`accessed`, including
    reads that only look at the keys (``in``, ``len``). Only the mapping itself is watched:
    after changing a nested mutable value in place, set :attr:`modified` by hand. Whether the
    session is new can't be known from a cookie, so :attr:`new` stays ``False``.
    """

    #: Set when the session's data changes; the cookie is only written when this is set.
    modified = False

    def __init__(self, initial: cabc.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(initial, _mark_changed)

    # Reads that reveal anything about the contents, down to whether a key exists or how
    # many there are, mark the session accessed so caches are told the response varies
    # by cookie.

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Return the value for ``key``, or ``default``; marks the session accessed."""
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        """Return the value for ``key``, storing ``default`` first if it is missing."""
        self.accessed = True
        return super().setdefault(key, default)


def _mark_changed(session: SecureCookieSession) -> None:
    """CallbackDict hook, called after any change to the session's data."""
    session.modified = True
    session.accessed = True


class NullSession(SecureCookieSession):
    """The stand-in session used when sessions can't work, because no secret key is set.

    It reads as empty, and any attempt to change it raises an error saying why.
    """

    def _unavailable(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret "
            "key was set.  Set the secret_key on the "
            "application to something unique and secret."
        )

    __setitem__ = _unavailable
    __delitem__ = _unavailable
    clear = _unavailable
    pop = _unavailable
    popitem = _unavailable
    update = _unavailable
    setdefault = _unavailable


class SessionInterface:
    """The interface an app uses to load and save sessions.

    Subclass it and implement :meth:`open_session` and :meth:`save_session`; the other
    methods have defaults that read the app's config. Set an instance as
    :attr:`erlen.Erlen.session_interface` to use it.

    :meth:`open_session` returns an object that is a mutable mapping with the
    :class:`SessionMixin` attributes (``class Session(dict, SessionMixin)`` is enough), or
    ``None`` to fall back to :meth:`make_null_session`.

    Requests sharing one session may be handled concurrently, and sessions are opened and
    saved in whatever order requests start and finish, so a backend with shared storage must
    make its own reads and writes safe.
    """

    # Shortcuts only the built-in cookie interface takes (see erlen._fastpaths).
    _fast_lazy_session: t.ClassVar[bool] = False
    _fast_no_cookie_no_serializer: t.ClassVar[bool] = False

    #: The class :meth:`make_null_session` creates and :meth:`is_null_session` checks for.
    null_session_class: type[NullSession] = NullSession

    #: Whether the interface pickles session data. Extensions can look at this.
    #:
    pickle_based = False

    def make_null_session(self, app: Erlen) -> NullSession:
        """Return a session to use when the real one couldn't be opened.

        It can still be read, and explains what's wrong when written to. Creates a
        :attr:`null_session_class` by default.
        """
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Tell whether ``obj`` is a null session; those are never saved."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Erlen) -> str:
        """The session cookie's name, from ``SESSION_COOKIE_NAME``."""
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]

    def get_cookie_domain(self, app: Erlen) -> str | None:
        """The cookie's ``Domain``, from ``SESSION_COOKIE_DOMAIN``.

        Unset means browsers send the cookie only to the exact host that set it.

        Unset by default; no fallback to ``SERVER_NAME``.
        """
        return app.config["SESSION_COOKIE_DOMAIN"]  # type: ignore[no-any-return]

    def get_cookie_path(self, app: Erlen) -> str:
        """The cookie's ``Path``: ``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``."""
        config = app.config
        return config["SESSION_COOKIE_PATH"] or config["APPLICATION_ROOT"]  # type: ignore[no-any-return]

    def get_cookie_httponly(self, app: Erlen) -> bool:
        """Whether the cookie is ``HttpOnly``, from ``SESSION_COOKIE_HTTPONLY``."""
        return app.config["SESSION_COOKIE_HTTPONLY"]  # type: ignore[no-any-return]

    def get_cookie_secure(self, app: Erlen) -> bool:
        """Whether the cookie is ``Secure``, from ``SESSION_COOKIE_SECURE``."""
        return app.config["SESSION_COOKIE_SECURE"]  # type: ignore[no-any-return]

    def get_cookie_samesite(self, app: Erlen) -> str | None:
        """The cookie's ``SameSite`` value, from ``SESSION_COOKIE_SAMESITE``."""
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

    def get_cookie_partitioned(self, app: Erlen) -> bool:
        """Whether the cookie is ``Partitioned``, from ``SESSION_COOKIE_PARTITIONED``."""
        return app.config["SESSION_COOKIE_PARTITIONED"]  # type: ignore[no-any-return]

    def get_expiration_time(self, app: Erlen, session: SessionMixin) -> datetime | None:
        """When the cookie expires: ``None`` (with the browser session) unless permanent.

        A permanent session expires :attr:`~erlen.Erlen.permanent_session_lifetime` from now.
        """
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Erlen, session: SessionMixin) -> bool:
        """Tell whether this response should carry a ``Set-Cookie`` for the session.

        Yes if the session was modified, or if it is permanent and
        ``SESSION_REFRESH_EACH_REQUEST`` is on (which pushes the expiry forward on every
        request). Backends usually skip this check when the session was emptied.
        """
        if session.modified:
            return True
        return session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])

    def open_session(self, app: Erlen, request: Request) -> SessionMixin | None:
        """Load the session for a request; ``None`` means use :meth:`make_null_session`.

        The request context is active, so an implementation may use it (including calling
        ``request_ctx.match_request()`` if it needs the endpoint).
        """
        raise NotImplementedError()

    def save_session(self, app: Erlen, session: SessionMixin, response: Response) -> None:
        """Persist the session at the end of a request, after the response is built.

        Not called for null sessions (see :meth:`is_null_session`).
        """
        raise NotImplementedError()


session_json_serializer = TaggedJSONSerializer()


def _sha1(data: bytes = b"") -> t.Any:
    """Return a SHA-1 hash object, looking the algorithm up only when it is used.

    FIPS builds of Python may lack SHA-1; binding ``hashlib.sha1`` at import time would
    break importing erlen there, before an app gets the chance to choose another digest.
    """
    return hashlib.sha1(data)


class SecureCookieSessionInterface(SessionInterface):
    """The default interface: the session lives in a cookie signed with itsdangerous.

    ``SECRET_KEY`` signs new cookies; cookies signed with any of ``SECRET_KEY_FALLBACKS``
    are still accepted, so keys can be rotated without logging everyone out.
    """

    #: Mixed into the secret key so these signatures can't be reused for other purposes.
    salt = "cookie-session"
    #: The hash function of the signature.
    digest_method = staticmethod(_sha1)
    #: The itsdangerous key derivation.
    key_derivation = "hmac"
    #: Turns the session into the cookie payload and back; tagged JSON keeps tuples, bytes,
    #: datetimes, UUIDs and markup intact.
    serializer = session_json_serializer
    session_class = SecureCookieSession

    _last_serializer: tuple[tuple[t.Any, ...], URLSafeTimedSerializer] | None = None

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, SecureCookieSessionInterface)

    def get_signing_serializer(self, app: Erlen) -> URLSafeTimedSerializer | None:
        """Return the serializer that signs and verifies cookies, or ``None`` without a key."""
        secret_key = app.secret_key
        if not secret_key:
            return None
        # itsdangerous signs with the last key and tries them all when verifying.
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), secret_key)
        # Building a serializer costs about as much as a fifth of verifying a cookie, and the
        # inputs almost never change: keep the last one, rebuilt whenever an input differs.
        # The serializer holds no per-call state, so sharing it across threads is safe.
        inputs = (keys, self.salt, self.serializer, self.key_derivation, self.digest_method)
        cached = self._last_serializer
        if cached is not None and cached[0] == inputs:
            return cached[1]
        serializer = URLSafeTimedSerializer(
            list(keys),
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
        self._last_serializer = (inputs, serializer)
        return serializer

    def open_session(self, app: Erlen, request: Request) -> SecureCookieSession | None:
        """Load the session from the request's cookie.

        No secret key gives ``None`` (a null session). A missing, tampered, or expired
        cookie gives a new empty session.
        """
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie and self._fast_no_cookie_no_serializer:
            # Most requests of a new visitor land here, and sessions are opened on every
            # request: skip building a serializer that would only be used to say "no key".
            return self.session_class() if app.secret_key else None

        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(cookie, max_age=max_age)
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Erlen, session: SessionMixin, response: Response) -> None:
        """Write the session into the response's cookie, or delete an emptied one.

        ``Vary: Cookie`` is added whenever the session was accessed or a cookie is set or
        deleted, so shared caches never serve one user's page to another.
        """
        # Reading the session here is bookkeeping, not the application accessing it: note
        # the flag now and put it back at the end, so it still describes the request.
        accessed = session.accessed
        try:
            self._write_cookie(app, session, response, accessed)
        finally:
            session.accessed = accessed

    def _write_cookie(
        self, app: Erlen, session: SessionMixin, response: Response, accessed: bool
    ) -> None:
        """Do the work of :meth:`save_session`."""
        if accessed:
            response.vary.add("Cookie")

        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        if not session:
            # An empty session needs no cookie. If it was emptied during this request, the
            # client still holds the old one: delete it.
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                response.vary.add("Cookie")
            return

        if not self.should_set_cookie(app, session):
            return

        serializer = self.get_signing_serializer(app)
        if serializer is None:
            # The secret key was removed after the session was opened; nothing can be signed.
            return
        response.set_cookie(
            name,
            serializer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        response.vary.add("Cookie")


_fastpaths.decide(SecureCookieSessionInterface, SecureCookieSessionInterface)
