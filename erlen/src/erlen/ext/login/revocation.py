"""The server-side list of logged-out sessions, so a copied session cookie stops working.

Sessions are signed cookies: the server keeps no record of them, so logging out can only
ask the browser to forget its cookie. A copy of the cookie (stolen, or replayed) would
still be valid. Each login therefore gets a random session id, and logging out puts that
id on this list until every cookie that carries it has expired. The login manager checks
the list when it loads the user.

The list lives in Redis (shared by every process, keys under ``KEY_PREFIX``) or in memory
(one process: development and tests). Both keep one contract, checked by one test suite.

**When Redis is down** the Redis store fails open, for a bounded time: a logged-in
request is served as if its session were not revoked (one warning when the outage starts,
one line when it ends), except for sessions this process revoked itself, which it always
remembers. Failing closed at once would log every user out, or fail every logged-in
request, whenever Redis blips, while the risk of failing open is narrow: a cookie copied
before a logout, replayed during the outage. Past ``LOGIN_REVOCATION_FAIL_OPEN`` seconds
(300 by default; ``None``: no limit, ``0``: fail closed) the check fails closed: such
requests get a 503 until Redis is back.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import typing as t

from werkzeug.exceptions import ServiceUnavailable

from .helpers import APIAwareHTTPException
from .helpers import key_prefix
from .helpers import redis_from_config

if t.TYPE_CHECKING:  # pragma: no cover
    from redis import Redis

    from ...app import Erlen


logger = logging.getLogger("erlen.ext.login")

#: Seconds a Redis outage may last while logins are accepted without the shared list.
DEFAULT_FAIL_OPEN = 300.0
#: Seconds after a failed Redis call during which the store doesn't ask Redis again, so
#: an outage costs each request nothing.
RETRY_AFTER = 2.0


class RevocationUnavailable(APIAwareHTTPException, ServiceUnavailable):
    """503: the revocation list has been unreachable for longer than the app accepts."""

    description = "Logins can't be checked right now. Try again in a minute."


class RevocationNotShared(RuntimeError):
    """A revocation could be recorded only in this process: the shared store is unreachable.

    Raised by the Redis store's writes. The login manager handles it (see
    :func:`~erlen.ext.login.logout_user`), so an outage never turns a logout into an error.
    """


class RevocationStore(t.Protocol):
    """Remembers revoked session ids for a while."""

    def revoke(self, session_id: str, ttl: float) -> None:
        """Revoke ``session_id`` for ``ttl`` seconds (as long as its cookies can live)."""

    def is_revoked(self, session_id: str) -> bool:
        """Tell whether ``session_id`` was revoked and its entry hasn't expired."""

    def revoke_epochs_before(self, user_id: str, epoch: int, ttl: float) -> None:
        """Revoke every session of ``user_id`` from an epoch below ``epoch``, for ``ttl``
        seconds (logging out everywhere; never lowers a floor already set)."""

    def epoch_floor(self, user_id: str) -> int:
        """The lowest session epoch of ``user_id`` still honoured; ``0`` if none was set.

        Services without the user table (the realtime service) check a session's epoch
        against this instead of the user's record.
        """


class MemoryRevocationStore:
    """Revocations in this process's memory: for development, tests and single processes.

    Other processes don't see them; use :class:`RedisRevocationStore` when the app runs in
    more than one.

    :param clock: a monotonic clock in seconds; tests pass a fake one.
    """

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked: dict[str, float] = {}
        self._floors: dict[str, tuple[int, float]] = {}

    def revoke(self, session_id: str, ttl: float) -> None:
        """Revoke ``session_id``; see :meth:`RevocationStore.revoke`."""
        with self._lock:
            now = self._clock()
            if len(self._revoked) > 10_000:
                for key in [k for k, until in self._revoked.items() if until <= now]:
                    del self._revoked[key]
            until = now + ttl
            self._revoked[session_id] = max(until, self._revoked.get(session_id, until))

    def is_revoked(self, session_id: str) -> bool:
        """Tell whether ``session_id`` is revoked; see :meth:`RevocationStore.is_revoked`."""
        with self._lock:
            until = self._revoked.get(session_id)
            if until is None:
                return False
            if until <= self._clock():
                del self._revoked[session_id]
                return False
            return True

    def revoke_epochs_before(self, user_id: str, epoch: int, ttl: float) -> None:
        """Set the user's epoch floor; see :meth:`RevocationStore.revoke_epochs_before`."""
        with self._lock:
            now = self._clock()
            current = self._floors.get(user_id)
            if current is not None and current[1] > now and current[0] >= epoch:
                return
            self._floors[user_id] = (epoch, now + ttl)

    def epoch_floor(self, user_id: str) -> int:
        """The user's epoch floor; see :meth:`RevocationStore.epoch_floor`."""
        with self._lock:
            entry = self._floors.get(user_id)
            if entry is None:
                return 0
            if entry[1] <= self._clock():
                del self._floors[user_id]
                return 0
            return entry[0]


# A second, shorter revocation of the same id must not shorten the first one.
_REVOKE_SCRIPT = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
"""


# Epochs only grow: a late or repeated logout-everywhere must not lower the floor.
_FLOOR_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
"""


class RedisRevocationStore:
    """Revocations in Redis, seen by every process; each entry expires on its own.

    While Redis is unreachable, :meth:`is_revoked` answers from the revocations this
    process made for up to ``fail_open`` seconds, then raises
    :class:`RevocationUnavailable` (see the module's docstring).

    :param client: a ``redis.Redis`` client.
    :param prefix: the namespace of the keys (the app's ``KEY_PREFIX``).
    :param fail_open: seconds an outage may last before checks fail closed (``None``:
        never).
    :param clock: a monotonic clock in seconds; tests pass a fake one.
    """

    def __init__(
        self,
        client: Redis,
        prefix: str = "erlen",
        *,
        fail_open: float | None = DEFAULT_FAIL_OPEN,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        import redis

        self.client = client
        self.prefix = prefix
        self.fail_open = fail_open
        self._clock = clock
        self._revoke = client.register_script(_REVOKE_SCRIPT)
        self._floor = client.register_script(_FLOOR_SCRIPT)
        self._errors = (redis.RedisError, OSError)
        # What this process revoked: honoured even while Redis is down.
        self._local = MemoryRevocationStore(clock)
        self._lock = threading.Lock()
        #: Since when (``clock()``) Redis has been unreachable, if it is.
        self.outage_since: float | None = None
        self._retry_at = 0.0

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:login-revoked:{session_id}"

    def revoke(self, session_id: str, ttl: float) -> None:
        """Revoke ``session_id``; see :meth:`RevocationStore.revoke`.

        Remembered in this process first, so this process refuses the session even if
        Redis can't be reached.

        :raise RevocationNotShared: Redis can't be reached; other processes don't know.
        """
        self._local.revoke(session_id, ttl)
        ttl_ms = max(1, math.ceil(ttl * 1000))
        try:
            self._revoke(keys=[self._key(session_id)], args=[ttl_ms])
        except self._errors as e:
            raise RevocationNotShared(f"Redis is unreachable ({type(e).__name__}).") from e

    def is_revoked(self, session_id: str) -> bool:
        """Tell whether ``session_id`` is revoked; see :meth:`RevocationStore.is_revoked`.

        :raise RevocationUnavailable: Redis has been unreachable for over ``fail_open``
            seconds.
        """
        if self._local.is_revoked(session_id):
            return True
        now = self._clock()
        if self.outage_since is not None and now < self._retry_at:
            return self._unknown(now)
        try:
            revoked = bool(self.client.exists(self._key(session_id)))
        except self._errors as e:
            with self._lock:
                if self.outage_since is None:
                    self.outage_since = now
                    logger.warning(
                        "The login revocation list is unreachable (%s): accepting logins"
                        " without it for up to %s.",
                        type(e).__name__,
                        "ever" if self.fail_open is None else f"{self.fail_open:g} s",
                    )
                self._retry_at = now + RETRY_AFTER
            return self._unknown(now)
        if self.outage_since is not None:
            with self._lock:
                if self.outage_since is not None:
                    logger.info(
                        "The login revocation list is reachable again after %.1f s.",
                        now - self.outage_since,
                    )
                    self.outage_since = None
        return revoked

    def _unknown(self, now: float) -> bool:
        since = self.outage_since
        if self.fail_open is not None and since is not None and now - since >= self.fail_open:
            raise RevocationUnavailable()
        return False

    def revoke_epochs_before(self, user_id: str, epoch: int, ttl: float) -> None:
        """Set the user's epoch floor; see :meth:`RevocationStore.revoke_epochs_before`.

        :raise RevocationNotShared: Redis can't be reached.
        """
        ttl_ms = max(1, math.ceil(ttl * 1000))
        try:
            self._floor(keys=[self._floor_key(user_id)], args=[int(epoch), ttl_ms])
        except self._errors as e:
            raise RevocationNotShared(f"Redis is unreachable ({type(e).__name__}).") from e

    def epoch_floor(self, user_id: str) -> int:
        """The user's epoch floor; see :meth:`RevocationStore.epoch_floor`."""
        raw = self.client.get(self._floor_key(user_id))
        return int(raw) if raw is not None else 0

    def _floor_key(self, user_id: str) -> str:
        return f"{self.prefix}:login-epoch-floor:{user_id}"


def revocation_store_from_config(app: Erlen) -> RevocationStore:
    """Build the store ``REDIS_URL`` names (memory for ``memory://`` or unset).

    ``LOGIN_REVOCATION_FAIL_OPEN``: seconds a Redis outage may last before logged-in
    requests are refused (default 300; ``None``: never).
    """
    client = redis_from_config(app)
    if client is None:
        return MemoryRevocationStore()
    fail_open = app.config.get("LOGIN_REVOCATION_FAIL_OPEN", DEFAULT_FAIL_OPEN)
    return RedisRevocationStore(
        client, key_prefix(app), fail_open=None if fail_open is None else float(fail_open)
    )
