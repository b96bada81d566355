"""Login throttling: fixed windows of attempts, per account *from one address*, per
address, and per account overall.

Each login attempt takes a slot *before* the password is checked, atomically, so
parallel guesses can't slip past the limit; a successful login gives its slot back. The
attempt over a limit is answered with 429 and ``Retry-After``. The counters live in a
backend: Redis (shared by every process, keys under ``KEY_PREFIX``) or memory (one
process: development and tests). Both keep the same contract, checked by one test suite.

Three buckets, so that one client's failures never lock anybody else out:

- ``limit`` per (account, address): guessing one account from one place;
- ``ip_limit`` per address, across accounts: one place trying many accounts;
- ``account_limit`` per account, across addresses: many places guessing one account
  (a botnet). It is set high (10 × ``limit`` by default): reaching it does lock that one
  account for the rest of the window, from everywhere, which is the price of slowing a
  distributed guess; the owner's correct login from an address that hasn't failed gets
  through until then.

The address must be the real client's: behind a reverse proxy, set ``TRUSTED_PROXIES``
(``docs/proxies.md``), or every client shares the proxy's address and bucket.

Usage in a login view::

    throttle.attempt(form.email, request.remote_addr)   # 429 once over the limit
    user = find_user(form.email)
    if not verify_and_update(user, form.password, save_hash):
        return render_template("login.html", error="Wrong email or password."), 401
    throttle.succeeded(form.email, request.remote_addr)
    login_user(user)
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
import typing as t

from werkzeug.exceptions import TooManyRequests

from ...globals import current_app_context
from ..problems import APIAwareHTTPException
from .helpers import key_prefix
from .helpers import redis_from_config

if t.TYPE_CHECKING:  # pragma: no cover
    from redis import Redis

    from ...app import Erlen


class TooManyAttempts(APIAwareHTTPException, TooManyRequests):
    """429 for a login attempt over the limit, with ``Retry-After`` in seconds.

    Answered through :func:`erlen.ext.problems.error_response`: browsers get an HTML page,
    API clients a problem whose ``retry_after`` member repeats the seconds to wait.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many login attempts. Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


class ThrottleBackend(t.Protocol):
    """Where attempt counters live. Every method is atomic; keys expire on their own."""

    def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one attempt; return the count and the seconds until the window ends.

        The window starts with the first attempt and is not extended by later ones.
        """

    def peek(self, key: str) -> tuple[int, float]:
        """Return the count and remaining seconds without counting; ``(0, 0.0)`` if none."""

    def forgive(self, key: str) -> None:
        """Take one attempt back (never below zero), keeping the window's end."""

    def clear(self, key: str) -> None:
        """Forget the counter."""


class MemoryThrottleBackend:
    """Counters in this process's memory: for development, tests and single processes.

    :param clock: a monotonic clock in seconds; tests pass a fake one.
    """

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float]] = {}

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._counters.get(key)
        if entry is not None and entry[1] <= now:
            del self._counters[key]
            return None
        return entry

    def _prune(self, now: float) -> None:
        # Without this, every address that ever failed a login would stay in memory.
        if len(self._counters) > 10_000:
            for key in [k for k, (_, end) in self._counters.items() if end <= now]:
                del self._counters[key]

    def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one attempt; see :meth:`ThrottleBackend.hit`."""
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is None:
                self._prune(now)
                entry = (0, now + window)
            count, end = entry[0] + 1, entry[1]
            self._counters[key] = (count, end)
            # (now + window) - now can round to a hair over window.
            return count, min(end - now, window)

    def peek(self, key: str) -> tuple[int, float]:
        """Return the counter; see :meth:`ThrottleBackend.peek`."""
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is None:
                return 0, 0.0
            return entry[0], entry[1] - now

    def forgive(self, key: str) -> None:
        """Take one attempt back; see :meth:`ThrottleBackend.forgive`."""
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None and entry[0] > 0:
                self._counters[key] = (entry[0] - 1, entry[1])

    def clear(self, key: str) -> None:
        """Forget the counter."""
        with self._lock:
            self._counters.pop(key, None)


# INCR and the expiry must happen together, or a crash between them would leave a counter
# that never expires and locks the account out for good.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

_FORGIVE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
    redis.call('DECR', KEYS[1])
end
return count
"""


class RedisThrottleBackend:
    """Counters in Redis, shared by every process; each key expires with its window.

    :param client: a ``redis.Redis`` client.
    :param prefix: the namespace of the keys (the app's ``KEY_PREFIX``).
    """

    def __init__(self, client: Redis, prefix: str = "erlen") -> None:
        self.client = client
        self.prefix = prefix
        self._hit = client.register_script(_HIT_SCRIPT)
        self._forgive = client.register_script(_FORGIVE_SCRIPT)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one attempt; see :meth:`ThrottleBackend.hit`."""
        window_ms = max(1, math.ceil(window * 1000))
        count, ttl_ms = self._hit(keys=[self._key(key)], args=[window_ms])
        return int(count), int(ttl_ms) / 1000

    def peek(self, key: str) -> tuple[int, float]:
        """Return the counter; see :meth:`ThrottleBackend.peek`."""
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self._key(key))
        pipe.pttl(self._key(key))
        raw, ttl_ms = pipe.execute()
        if raw is None or int(ttl_ms) < 0:
            return 0, 0.0
        return int(raw), int(ttl_ms) / 1000

    def forgive(self, key: str) -> None:
        """Take one attempt back; see :meth:`ThrottleBackend.forgive`."""
        self._forgive(keys=[self._key(key)])

    def clear(self, key: str) -> None:
        """Forget the counter."""
        self.client.delete(self._key(key))


def throttle_backend_from_config(app: Erlen) -> ThrottleBackend:
    """Build the backend ``REDIS_URL`` names (memory for ``memory://`` or unset)."""
    client = redis_from_config(app)
    if client is None:
        return MemoryThrottleBackend()
    return RedisThrottleBackend(client, key_prefix(app))


def _account_digest(account: str) -> str:
    """The account's name, normalised and hashed: keys show no email address, and have a
    bounded length. Any string hashes, a lone surrogate (from a JSON escape) included."""
    normalised = account.strip().casefold()
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _address_key(ip: str) -> str:
    """Group an address with its neighbours an attacker would also control.

    One IPv6 host usually owns a whole /64, so counting single IPv6 addresses would let
    it try forever.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class LoginThrottle:
    """Limit login attempts per account from one address, per address, and per account.

    :param app: an app to initialise now (the backend then comes from its config).
    :param limit: attempts allowed per account from one address within ``window``.
    :param window: the window in seconds, starting with the first attempt.
    :param ip_limit: attempts allowed per address, whatever the account, within
        ``window``; defaults to ``limit``. Raise it when many users share one address
        (an office NAT).
    :param account_limit: attempts allowed per account, whatever the address, within
        ``window``; defaults to ten times ``limit``.
    :param backend: where the counters live. Without one, :meth:`init_app` builds it from
        ``REDIS_URL`` and ``KEY_PREFIX``.
    """

    def __init__(
        self,
        app: Erlen | None = None,
        *,
        limit: int = 10,
        window: float = 60,
        ip_limit: int | None = None,
        account_limit: int | None = None,
        backend: ThrottleBackend | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.ip_limit = limit if ip_limit is None else ip_limit
        self.account_limit = 10 * limit if account_limit is None else account_limit
        self._backend = backend
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Erlen) -> None:
        """Register on ``app``; build the backend from its config unless one was given."""
        backend = self._backend or throttle_backend_from_config(app)
        app.extensions["login_throttle"] = backend

    @property
    def backend(self) -> ThrottleBackend:
        """The backend: the one given, else the current app's."""
        if self._backend is not None:
            return self._backend
        app_ctx = current_app_context()
        if app_ctx is None or "login_throttle" not in app_ctx.app.extensions:
            raise RuntimeError(
                "The LoginThrottle has no backend. Pass backend=..., or call"
                " throttle.init_app(app) and use it inside 'with app.app_context():'."
            )
        return t.cast(ThrottleBackend, app_ctx.app.extensions["login_throttle"])

    def _keys(self, account: str | None, ip: str | None) -> list[tuple[str, int]]:
        """The buckets an attempt counts in, with their limits: (account, address),
        address, account; the first only when both are known."""
        keys: list[tuple[str, int]] = []
        digest = _account_digest(account) if account else None
        address = _address_key(ip) if ip else None
        if digest and address:
            keys.append((f"login-throttle:pair:{digest}:{address}", self.limit))
        if address:
            keys.append((f"login-throttle:ip:{address}", self.ip_limit))
        if digest:
            # Without an address, the account's own bucket is all there is: keep it as
            # strict as the per-pair one.
            limit = self.account_limit if address else self.limit
            keys.append((f"login-throttle:account:{digest}", limit))
        return keys

    def attempt(self, account: str | None, ip: str | None = None) -> None:
        """Count a login attempt; raise :exc:`TooManyAttempts` if it is over a limit.

        Call it before checking the password, and :meth:`succeeded` after a good one.
        """
        backend = self.backend
        wait = 0.0
        for key, limit in self._keys(account, ip):
            count, remaining = backend.hit(key, self.window)
            if count > limit:
                wait = max(wait, remaining)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))

    def succeeded(self, account: str | None, ip: str | None = None) -> None:
        """Record a successful login: forget the failures of this account from this
        address, and give back the slot the success took in the address's and the
        account's buckets, so that a success never counts against either.

        Their earlier failures stay: an attacker can't wipe an address's failures by
        logging in to an account of their own between guesses, nor the guesses other
        addresses made at the account.
        """
        backend = self.backend
        for key, _ in self._keys(account, ip):
            if key.startswith("login-throttle:pair:"):
                backend.clear(key)
            else:
                backend.forgive(key)

    def retry_after(self, account: str | None, ip: str | None = None) -> int:
        """Seconds until another attempt is allowed; ``0`` if one is allowed now."""
        wait = 0.0
        for key, limit in self._keys(account, ip):
            count, remaining = self.backend.peek(key)
            if count >= limit:
                wait = max(wait, remaining)
        return math.ceil(wait) if wait > 0 else 0

    def reset(self, account: str | None = None, ip: str | None = None) -> None:
        """Forget the counters of ``account`` and ``ip`` (an admin unlocking an account)."""
        for key, _ in self._keys(account, ip):
            self.backend.clear(key)
