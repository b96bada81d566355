"""The in-process broker: Redis pub/sub's twin for ``make dev`` and tests.

Every :class:`MemoryBroker` on the same named exchange (``memory://`` is the default one)
sees the events the others publish under the same prefix, exactly as brokers sharing a
Redis do. Publishing works from any thread; each broker hands events to its own event loop
with ``call_soon_threadsafe``, so a web or worker thread publishes and the realtime loop
receives, in publishing order.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
import typing as t

from .broker import Broker
from .broker import DEFAULT_MAX_EVENT_SIZE
from .broker import DEFAULT_REPLAY_SIZE
from .broker import DEFAULT_REPLAY_TTL
from .broker import stamp_seq


class _Log:
    """A channel's sequence counter and replay window (the twin of two Redis keys)."""

    __slots__ = ("seq", "events", "touched")

    def __init__(self) -> None:
        self.seq = 0
        self.events: collections.deque[bytes] = collections.deque()
        self.touched = 0.0


class _Exchange:
    """Routes payloads from publishers to the brokers listening on a key, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, set[MemoryBroker]] = {}
        self._logs: dict[str, _Log] = {}
        # channel key -> (member, replica) -> when the entry expires (monotonic clock)
        self._presence: dict[str, dict[tuple[str, str], float]] = {}

    def bind(self, key: str, broker: MemoryBroker) -> None:
        with self._lock:
            self._routes.setdefault(key, set()).add(broker)

    def unbind(self, key: str, broker: MemoryBroker) -> None:
        with self._lock:
            brokers = self._routes.get(key)
            if brokers is not None:
                brokers.discard(broker)
                if not brokers:
                    del self._routes[key]

    def publish(self, key: str, payload: bytes, size: int, ttl: float) -> int:
        # Numbering, logging and handing over happen under one lock, as one Redis script
        # runs alone: events are delivered in the order of their numbers.
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = _Log()
            now = time.monotonic()
            if now - log.touched > ttl:
                log.events.clear()
            log.touched = now
            log.seq += 1
            stamped = stamp_seq(payload, log.seq)
            if size:
                log.events.append(stamped)
                while len(log.events) > size:
                    log.events.popleft()
            else:
                log.events.clear()
            for broker in self._routes.get(key, ()):
                broker._deliver_threadsafe(key, stamped)
            return log.seq

    def presence_update(
        self, key: str, op: str, members: t.Sequence[str], replica: str, ttl: float
    ) -> list[tuple[str, str]]:
        with self._lock:
            entries = self._presence.setdefault(key, {})
            before = {member for member, _ in entries}
            now = time.monotonic()
            for entry, expires in tuple(entries.items()):
                if expires <= now:
                    del entries[entry]
            for member in members:
                if op == "join":
                    entries[(member, replica)] = now + ttl
                else:
                    entries.pop((member, replica), None)
            after = {member for member, _ in entries}
            if not entries:
                del self._presence[key]
        # In the order the Redis script reports them: leaves found expiring, then the op's.
        changes = [("leave", member) for member in sorted(before - after)]
        changes += [("join", member) for member in members if member in after - before]
        return changes

    def present(self, key: str) -> list[str]:
        with self._lock:
            now = time.monotonic()
            entries = self._presence.get(key, {})
            return sorted({member for (member, _), exp in entries.items() if exp > now})

    def history(self, key: str, since: int | None, ttl: float) -> tuple[int, list[bytes]]:
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                return 0, []
            if since is None or since >= log.seq:
                return log.seq, []
            if time.monotonic() - log.touched > ttl:
                log.events.clear()
            wanted = log.seq - since
            events = list(log.events)
            return log.seq, events[-wanted:]


_exchanges: dict[str, _Exchange] = {}
_exchanges_lock = threading.Lock()


def _exchange(name: str) -> _Exchange:
    with _exchanges_lock:
        exchange = _exchanges.get(name)
        if exchange is None:
            exchange = _exchanges[name] = _Exchange()
        return exchange


class MemoryBroker(Broker):
    """A broker whose events never leave the process.

    :param prefix: Channel namespace, as for every broker.
    :param name: The exchange to join; brokers on different exchanges never meet.
    """

    backend = "memory"

    def __init__(
        self,
        *,
        prefix: str,
        name: str = "",
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        subscribe_timeout: float = 5.0,
        replay_size: int = DEFAULT_REPLAY_SIZE,
        replay_ttl: float = DEFAULT_REPLAY_TTL,
    ) -> None:
        super().__init__(
            prefix=prefix,
            max_event_size=max_event_size,
            subscribe_timeout=subscribe_timeout,
            replay_size=replay_size,
            replay_ttl=replay_ttl,
        )
        self.name = name
        self._exchange = _exchange(name)

    def _publish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        exchange, size, ttl = self._exchange, self.replay_size, self.replay_ttl
        return [
            exchange.publish(self.key(channel), payload, size, ttl) for channel, payload in batch
        ]

    async def _apublish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        return self._publish_many(batch)

    async def _history(self, channel: str, since: int | None) -> tuple[int, list[bytes]]:
        return self._exchange.history(self.key(channel), since, self.replay_ttl)

    async def _presence_update(
        self, channel: str, op: str, members: t.Sequence[str], replica: str, ttl: float
    ) -> list[tuple[str, str]]:
        return self._exchange.presence_update(self.key(channel), op, members, replica, ttl)

    def _presence_members(self, channel: str) -> list[str]:
        return self._exchange.present(self.key(channel))

    async def _apresence_members(self, channel: str) -> list[str]:
        return self._exchange.present(self.key(channel))

    def _channel_added(self, channel: str) -> None:
        self._exchange.bind(self.key(channel), self)

    def _channel_removed(self, channel: str) -> None:
        self._exchange.unbind(self.key(channel), self)

    def _deliver_threadsafe(self, key: str, payload: bytes) -> None:
        """Schedule delivery on the broker's loop; called from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            # Even from the loop's own thread: going through the loop keeps events from
            # this thread in order with those other threads already queued.
            loop.call_soon_threadsafe(self._deliver, key, payload)
        except RuntimeError:  # the loop was closed since
            pass

    def _deliver(self, key: str, payload: bytes) -> None:
        # The payload was encoded by a broker in this process, so it needs no checking.
        self._dispatch(key[len(self._key_prefix) :], payload, trusted=True)

    def simulate_reconnect(self) -> None:
        """Tell listeners events may have been missed, as a Redis reconnect would.

        For tests of resync handling; call it on the broker's loop.
        """
        self._fire_resync()

    def health(self) -> dict[str, t.Any]:
        """See :meth:`Broker.health`."""
        info = super().health()
        info["exchange"] = self.name or "default"
        return info

    async def _disconnect(self) -> None:
        # Give events already scheduled on the loop a chance to find no listener.
        await asyncio.sleep(0)
