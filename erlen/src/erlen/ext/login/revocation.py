"""The server-side list of logged-out sessions, so a copied session cookie stops working.

Sessions are signed cookies: the server keeps no record of them, so logging out can only
ask the browser to forget its cookie. A copy of the cookie (stolen, or replayed) would
still be valid. Each login therefore gets a random session id, and logging out puts that
id on this list until every cookie that carries it has expired. The login manager checks
the list when it loads the user.

The list lives in Redis (shared by every process, keys under ``KEY_PREFIX``) or in memory
(one process: development and tests). Both keep one contract, checked by one test suite.
"""

from __future__ import annotations

import math
import threading
import time
import typing as t

from .helpers import key_prefix
from .helpers import redis_from_config

if t.TYPE_CHECKING:  # pragma: no cover
    from redis import Redis

    from ...app import Erlen


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

    :param client: a ``redis.Redis`` client.
    :param prefix: the namespace of the keys (the app's ``KEY_PREFIX``).
    """

    def __init__(self, client: Redis, prefix: str = "erlen") -> None:
        self.client = client
        self.prefix = prefix
        self._revoke = client.register_script(_REVOKE_SCRIPT)
        self._floor = client.register_script(_FLOOR_SCRIPT)

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:login-revoked:{session_id}"

    def revoke(self, session_id: str, ttl: float) -> None:
        """Revoke ``session_id``; see :meth:`RevocationStore.revoke`."""
        ttl_ms = max(1, math.ceil(ttl * 1000))
        self._revoke(keys=[self._key(session_id)], args=[ttl_ms])

    def is_revoked(self, session_id: str) -> bool:
        """Tell whether ``session_id`` is revoked; see :meth:`RevocationStore.is_revoked`."""
        return bool(self.client.exists(self._key(session_id)))

    def revoke_epochs_before(self, user_id: str, epoch: int, ttl: float) -> None:
        """Set the user's epoch floor; see :meth:`RevocationStore.revoke_epochs_before`."""
        ttl_ms = max(1, math.ceil(ttl * 1000))
        self._floor(keys=[self._floor_key(user_id)], args=[int(epoch), ttl_ms])

    def epoch_floor(self, user_id: str) -> int:
        """The user's epoch floor; see :meth:`RevocationStore.epoch_floor`."""
        raw = self.client.get(self._floor_key(user_id))
        return int(raw) if raw is not None else 0

    def _floor_key(self, user_id: str) -> str:
        return f"{self.prefix}:login-epoch-floor:{user_id}"


def revocation_store_from_config(app: Erlen) -> RevocationStore:
    """Build the store ``REDIS_URL`` names (memory for ``memory://`` or unset)."""
    client = redis_from_config(app)
    if client is None:
        return MemoryRevocationStore()
    return RedisRevocationStore(client, key_prefix(app))
