"""API tokens for clients that are not browsers: issued once, stored only as a hash.

A token reads ``erl_<id>_<secret>``. The id is public (it names the token in lists and
logs); the secret is 256 random bits, and only its SHA-256 is stored, so a leaked table
of tokens lets nobody in. A fast hash is enough because the secret is random, not
chosen by a person. Clients send the token as ``Authorization: Bearer <token>``.

Tokens are kept by a :class:`TokenStore`: an object with four methods, so the app
decides where they live. :class:`MemoryTokenStore` is the one for tests; an app with a
database stores one row per :class:`TokenRecord` (the columns are its fields, the primary
key is ``id``) and implements the four methods as one query each. Wire it up with::

    login_manager = LoginManager(token_store=SqlTokenStore(db))
    login_manager.request_loader(token_request_loader(load_user))

    plaintext, record = issue_token(user.get_id(), "ci deploy")  # show plaintext once
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import threading
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

from ...globals import current_app_context
from ...globals import current_request_context

if t.TYPE_CHECKING:  # pragma: no cover
    from ...wrappers import Request

#: The fixed start of every token, so secret scanners (and people) recognise one.
TOKEN_PREFIX = "erl"
_TOKEN_RE = re.compile(r"erl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# Compared against when the id is unknown, so that answer takes as long as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"erlen dummy token").hexdigest()


@dataclasses.dataclass(frozen=True)
class TokenRecord:
    """What is stored about a token: everything but the secret itself."""

    #: The public id: 16 hex characters, unique.
    id: str
    #: The id of the user the token acts for (``get_id()``'s value).
    user_id: str
    #: A label chosen by the user ("laptop", "CI deploy").
    name: str
    #: SHA-256 of the secret part, in hex.
    secret_hash: str
    created_at: datetime
    #: When the token stops working; ``None`` for never.
    expires_at: datetime | None = None
    #: When the token was revoked; ``None`` while it is live.
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the token was revoked."""
        return self.revoked_at is not None

    def is_usable(self, now: datetime | None = None) -> bool:
        """Whether the token may authenticate a request now: not revoked, not expired."""
        if self.revoked_at is not None:
            return False
        if self.expires_at is None:
            return True
        return (now or datetime.now(UTC)) < self.expires_at


class TokenStore(t.Protocol):
    """Where token records live; the app implements it over its database."""

    def add(self, record: TokenRecord) -> None:
        """Store a new record."""

    def get(self, token_id: str) -> TokenRecord | None:
        """Return the record with this id, or ``None``."""

    def revoke(self, token_id: str, when: datetime) -> bool:
        """Set ``revoked_at`` to ``when``; return whether a live token was revoked."""

    def list_for_user(self, user_id: str) -> list[TokenRecord]:
        """Return the user's records (revoked ones too), oldest first."""


class MemoryTokenStore:
    """Token records in a dict: for tests and single-process development."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}

    def add(self, record: TokenRecord) -> None:
        """Store a new record."""
        with self._lock:
            if record.id in self._records:
                raise ValueError(f"A token with id {record.id!r} already exists.")
            self._records[record.id] = record

    def get(self, token_id: str) -> TokenRecord | None:
        """Return the record with this id, or ``None``."""
        return self._records.get(token_id)

    def revoke(self, token_id: str, when: datetime) -> bool:
        """Mark the record revoked; ``False`` if unknown or already revoked."""
        with self._lock:
            record = self._records.get(token_id)
            if record is None or record.revoked_at is not None:
                return False
            self._records[token_id] = dataclasses.replace(record, revoked_at=when)
            return True

    def list_for_user(self, user_id: str) -> list[TokenRecord]:
        """Return the user's records, oldest first."""
        records = [r for r in self._records.values() if r.user_id == user_id]
        return sorted(records, key=lambda r: r.created_at)


def _current_store(store: TokenStore | None) -> TokenStore:
    if store is not None:
        return store
    app_ctx = current_app_context()
    manager = getattr(app_ctx.app, "login_manager", None) if app_ctx is not None else None
    found = getattr(manager, "token_store", None)
    if found is None:
        raise RuntimeError(
            "No token store. Pass store=..., or set LoginManager(token_store=...) and"
            " call this inside an app context."
        )
    return t.cast(TokenStore, found)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    user_id: object,
    name: str,
    *,
    expires_in: timedelta | None = None,
    store: TokenStore | None = None,
) -> tuple[str, TokenRecord]:
    """Create a token for ``user_id``; return its plaintext and the stored record.

    Show the plaintext to the user once: it can't be recovered, only revoked and
    replaced. The store defaults to the current app's ``login_manager.token_store``.
    """
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    record = TokenRecord(
        id=token_id,
        user_id=str(user_id),
        name=name,
        secret_hash=_hash_secret(secret),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    _current_store(store).add(record)
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", record


def parse_token(plaintext: str) -> tuple[str, str] | None:
    """Split a token into its id and secret; ``None`` if it isn't shaped like one."""
    match = _TOKEN_RE.fullmatch(plaintext)
    if match is None:
        return None
    return match[1], match[2]


def verify_token(
    plaintext: str, *, store: TokenStore | None = None, now: datetime | None = None
) -> TokenRecord | None:
    """Return the record of a usable token, or ``None`` for any other string.

    Malformed, unknown, wrong-secret, revoked and expired tokens all give ``None``; the
    secret is compared in constant time.
    """
    parts = parse_token(plaintext) if isinstance(plaintext, str) else None
    if parts is None:
        return None
    token_id, secret = parts
    record = _current_store(store).get(token_id)
    expected = record.secret_hash if record is not None else _DUMMY_HASH
    if not hmac.compare_digest(expected, _hash_secret(secret)) or record is None:
        return None
    if not record.is_usable(now):
        return None
    return record


def revoke_token(token_id: str, *, store: TokenStore | None = None) -> bool:
    """Revoke the token with this id; return whether a live token was revoked."""
    return _current_store(store).revoke(token_id, datetime.now(UTC))


def bearer_token(request: Request) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def token_request_loader(
    load_user: t.Callable[[str], t.Any | None], *, store: TokenStore | None = None
) -> t.Callable[[Request], t.Any | None]:
    """Build a request loader that authenticates ``Authorization: Bearer`` tokens.

    ``load_user(user_id)`` returns the token's user (or ``None``). A request whose token
    is refused stays anonymous, and :func:`~erlen.ext.login.login_required` answers it with
    401 and ``WWW-Authenticate: Bearer error="invalid_token"``. The accepted token's
    record is available as ``g.api_token``. Register it with
    ``login_manager.request_loader(token_request_loader(load_user))``.
    """

    def load_user_from_token(request: Request) -> t.Any | None:
        if not request.headers.get("Authorization"):
            return None
        token = bearer_token(request)
        if token is None:
            # Another scheme (Basic, say) is not ours to judge.
            return None
        record = verify_token(token, store=store)
        user = load_user(record.user_id) if record is not None else None
        if user is None or not getattr(user, "is_active", True):
            _note_token_error("invalid_token")
            return None
        app_ctx = current_app_context()
        if app_ctx is not None:
            app_ctx.g.api_token = record
        return user

    return load_user_from_token


def _note_token_error(error: str) -> None:
    """Remember for this request that a bearer token was refused (for the 401 challenge)."""
    if current_request_context() is not None:
        app_ctx = current_app_context()
        if app_ctx is not None:
            app_ctx.g._login_token_error = error
