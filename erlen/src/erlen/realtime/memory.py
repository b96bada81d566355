"""The in-process broker: Redis pub/sub's twin for ``make dev`` and tests.

Every :class:`MemoryBroker` on the same named exchange (``memory://`` is the default one)
sees the events the others publish under the same prefix, exactly as brokers sharing a
Redis do. Publishing works from any thread; each broker hands events to its own event loop
with ``call_soon_threadsafe``, so a web or worker thread publishes and the realtime loop
receives, in publishing order.
"""

from __future__ import annotations

import asyncio
import threading
import typing as t

from .broker import Broker
from .broker import DEFAULT_MAX_EVENT_SIZE


class _Exchange:
    """Routes payloads from publishers to the brokers listening on a key, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, set[MemoryBroker]] = {}

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

    def publish(self, key: str, payload: bytes) -> None:
        with self._lock:
            brokers = tuple(self._routes.get(key, ()))
        for broker in brokers:
            broker._deliver_threadsafe(key, payload)


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
    ) -> None:
        super().__init__(
            prefix=prefix, max_event_size=max_event_size, subscribe_timeout=subscribe_timeout
        )
        self.name = name
        self._exchange = _exchange(name)

    def _publish(self, channel: str, key: str, payload: bytes) -> None:
        self._exchange.publish(key, payload)

    async def _apublish(self, channel: str, key: str, payload: bytes) -> None:
        self._exchange.publish(key, payload)

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
