"""Handshake checks: who is connecting (the web session cookie) and from which page (Origin).

The realtime service shares web's ``SECRET_KEY`` and reads the signed session cookie the
browser sends with the websocket handshake, decoding it with the very serializer pieces
:class:`erlen.sessions.SecureCookieSessionInterface` signs it with. Nothing new is issued
and nothing is stored: a valid cookie is the session, an invalid one is no session.

Browsers attach cookies to cross-site websocket handshakes too, so the ``Origin`` check is
what stops another site's page from connecting as the user (cross-site websocket
hijacking). Browsers always send ``Origin`` on websocket handshakes; a missing one is
refused unless non-browser clients are explicitly allowed.
"""

from __future__ import annotations

import logging
import typing as t
from datetime import timedelta
from urllib.parse import urlsplit

from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import parse_cookie

from ..sessions import SecureCookieSessionInterface
from .revocation import Revocations
from .revocation import session_is_revoked

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Erlen

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

logger = logging.getLogger("erlen.realtime.auth")


class Authenticator(t.Protocol):
    """What :class:`~erlen.realtime.server.RealtimeServer` needs from its ``auth``."""

    def authenticate(self, cookie_header: str | None) -> t.Mapping[str, t.Any] | None:
        """Return the session for a handshake's ``Cookie`` header, or ``None`` to refuse it."""


class SessionCookieAuth:
    """Authenticate websocket handshakes with erlen's signed session cookie.

    :param secret_key: The web app's ``SECRET_KEY``.
    :param fallbacks: Its ``SECRET_KEY_FALLBACKS``: older keys still accepted.
    :param cookie_name: Its ``SESSION_COOKIE_NAME``.
    :param salt: The session interface's salt.
    :param max_age: Refuse cookies signed longer ago than this (seconds or a timedelta).
        erlen's web side uses ``PERMANENT_SESSION_LIFETIME``; :meth:`from_app` does too.
    :param revocations: The login extension's revocation store (web's, so the same
        Redis keys): a session whose login was logged out, or is older than a
        logout-everywhere, is refused. :meth:`from_app` takes the app's login manager's.
        When the store can't be reached the handshake is refused (the client retries).
    """

    def __init__(
        self,
        secret_key: str | bytes,
        *,
        fallbacks: t.Iterable[str | bytes] = (),
        cookie_name: str = "session",
        salt: str = SecureCookieSessionInterface.salt,
        max_age: float | timedelta | None = None,
        revocations: Revocations | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("SessionCookieAuth needs the web app's SECRET_KEY.")
        interface = SecureCookieSessionInterface
        # itsdangerous signs with the last key and accepts any of them, as web does.
        keys: list[t.Any] = [*fallbacks, secret_key]
        self._serializer = URLSafeTimedSerializer(
            keys,
            salt=salt,
            serializer=interface.serializer,
            signer_kwargs={
                "key_derivation": interface.key_derivation,
                "digest_method": interface.digest_method,
            },
        )
        self.cookie_name = cookie_name
        if isinstance(max_age, timedelta):
            max_age = max_age.total_seconds()
        self.max_age = None if max_age is None else int(max_age)
        self.revocations = revocations

    @classmethod
    def from_app(cls, app: Erlen) -> SessionCookieAuth:
        """Build the authenticator matching ``app``'s session settings (embedded mode)."""
        interface = app.session_interface
        salt = getattr(interface, "salt", SecureCookieSessionInterface.salt)
        login_manager = getattr(app, "login_manager", None)
        revocations = login_manager.revocation_store(app) if login_manager is not None else None
        return cls(
            app.secret_key,  # type: ignore[arg-type]
            fallbacks=app.config["SECRET_KEY_FALLBACKS"] or (),
            cookie_name=interface.get_cookie_name(app),
            salt=salt,
            max_age=app.permanent_session_lifetime,
            revocations=revocations,
        )

    def load(self, cookie: str) -> dict[str, t.Any] | None:
        """Return the session stored in a cookie value, or ``None`` if it isn't valid.

        Tampered, expired, undecodable and empty sessions all give ``None``.
        """
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        except Exception:
            # A correctly signed payload that doesn't decode: still not a session we accept.
            return None
        if not isinstance(data, dict) or not data:
            return None
        return data

    def authenticate(self, cookie_header: str | None) -> dict[str, t.Any] | None:
        """Return the session in a ``Cookie`` header, or ``None``; see :meth:`load`."""
        if not cookie_header:
            return None
        cookie = parse_cookie(cookie_header).get(self.cookie_name)
        if not cookie:
            return None
        session = self.load(cookie)
        if session is None or self.revocations is None:
            return session
        try:
            revoked = session_is_revoked(session, self.revocations)
        except Exception as e:
            logger.warning("Refusing a handshake: the revocation store failed (%s).", e)
            return None
        return None if revoked else session


def normalize_origin(origin: str) -> str | None:
    """Return ``origin`` as ``scheme://host:port`` (lowercase, default port filled in).

    ``None`` for anything that isn't a plain origin: ``null``, paths, queries, user info,
    a missing host or a bad port. A lone trailing slash is tolerated, for configuration.
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if (
        not scheme
        or not host
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


class OriginPolicy:
    """The origins a websocket server accepts: a list, and optionally its own host.

    :param allowed_origins: Origins like ``https://example.com`` or
        ``http://localhost:5000``; scheme, host and port must match exactly.
    :param allow_missing: Accept handshakes without ``Origin`` (non-browser clients).
    :param same_origin: Also accept a page served from the host the handshake was sent to
        (the ``Host`` header): the same host and port, as behind a proxy that serves the
        page and ``/ws`` from one origin. Whatever host the user typed (a name, a LAN
        address) then works without listing it.
    :param same_host_ports: Also accept pages from the handshake's host on these ports,
        e.g. the web port when the realtime service listens on its own (``make dev``).
    :raise ValueError: An allowed origin isn't a plain origin.

    Checking ``Origin`` against ``Host`` is the usual defence against cross-site websocket
    hijacking: another site's page has its own origin. A page reached through DNS
    rebinding has a matching ``Origin`` and ``Host``, but the browser sends it the
    rebinding site's cookies, not the session's.
    """

    def __init__(
        self,
        allowed_origins: t.Iterable[str],
        *,
        allow_missing: bool = False,
        same_origin: bool = False,
        same_host_ports: t.Iterable[int] = (),
    ) -> None:
        normalized = set()
        for origin in allowed_origins:
            value = normalize_origin(origin)
            if value is None:
                raise ValueError(
                    f"Allowed origin {origin!r} is not of the form scheme://host[:port]."
                )
            normalized.add(value)
        self.allowed = frozenset(normalized)
        self.allow_missing = allow_missing
        self.same_origin = same_origin
        self.same_host_ports = frozenset(same_host_ports)

    def __call__(self, origin: str | None, host: str | None = None) -> bool:
        """Whether a handshake with this ``Origin`` (sent to ``Host`` ``host``) is accepted."""
        if origin is None:
            return self.allow_missing
        value = normalize_origin(origin)
        if value is None:
            return False
        if value in self.allowed:
            return True
        if host is None or not (self.same_origin or self.same_host_ports):
            return False
        try:
            page = urlsplit(value)
            target = urlsplit("//" + host.strip())
            target_port = target.port
        except ValueError:
            return False
        if not target.hostname or page.hostname != target.hostname.lower():
            return False
        if page.port in self.same_host_ports:
            return True
        if not self.same_origin:
            return False
        # No port in Host: the client used its scheme's default, as the page's origin did.
        expected = target_port if target_port is not None else _DEFAULT_PORTS.get(page.scheme)
        return page.port == expected


def check_origin(origin: str | None, allowed_origins: t.Iterable[str]) -> bool:
    """Whether ``origin`` is one of ``allowed_origins`` (exact scheme, host and port).

    A missing ``Origin`` (``None``) is refused: browsers always send one. Use
    :class:`OriginPolicy` to check many handshakes against the same list.
    """
    return OriginPolicy(allowed_origins)(origin)
