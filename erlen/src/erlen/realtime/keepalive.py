"""Keepalive pings for every connection of a server, from one task.

websockets can ping each connection itself, but it does so with a task per connection
that lives as long as the connection (its coroutine, and the timer and future of its
sleep): with thousands of mostly idle sockets per process that is ~1.7 KiB of memory and
a task started per connection (a fifth to a third of a handshake's server CPU), measured
by ``make bench-realtime``. Here the connections sit in the slots of a wheel that turns
once per ping interval, one slot per tick; a ping runs in a task only while its pong is
awaited (milliseconds, normally), and a pong that doesn't come within ``timeout`` closes
the connection with 1011, as websockets' own keepalive does.
"""

from __future__ import annotations

import asyncio
import logging
import math

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import OPEN

logger = logging.getLogger("erlen.realtime")

#: Seconds between two turns of the wheel at most: a connection's first ping comes within
#: one interval of its handshake, pings of a connect storm are spread over the interval.
TICK = 1.0


class Keepalive:
    """Pings the connections :meth:`add` gave it every ``interval`` seconds."""

    def __init__(self, interval: float, timeout: float | None, close_timeout: float | None) -> None:
        if interval <= 0:
            raise ValueError(f"ping_interval must be positive, not {interval!r}.")
        self.interval = interval
        self.timeout = timeout
        self.close_timeout = close_timeout
        slots = max(1, math.ceil(interval / TICK))
        self._tick = interval / slots
        self._wheel: list[set[ServerConnection]] = [set() for _ in range(slots)]
        self._slot: dict[ServerConnection, int] = {}
        self._next_slot = 0
        # Connections whose last ping still waits for its pong: not pinged again.
        self._waiting: set[ServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start turning the wheel (on the running loop)."""
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop pinging; pings in flight are abandoned."""
        tasks = [task for task in (self._runner, *self._tasks) if task is not None]
        self._runner = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def add(self, connection: ServerConnection) -> None:
        # Round robin: the connections of a burst of handshakes land in different slots.
        slot = self._next_slot
        self._next_slot = (slot + 1) % len(self._wheel)
        self._wheel[slot].add(connection)
        self._slot[connection] = slot

    def remove(self, connection: ServerConnection) -> None:
        slot = self._slot.pop(connection, None)
        if slot is not None:
            self._wheel[slot].discard(connection)

    def __len__(self) -> int:
        return len(self._slot)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        slot = 0
        due = loop.time()
        while True:
            due += self._tick
            await asyncio.sleep(max(0.0, due - loop.time()))
            slot = (slot + 1) % len(self._wheel)
            for connection in self._wheel[slot]:
                if connection in self._waiting or connection.protocol.state is not OPEN:
                    continue
                task = loop.create_task(self._ping(connection))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _ping(self, connection: ServerConnection) -> None:
        self._waiting.add(connection)
        try:
            # ping() waits while the socket's buffer is over its high-water mark: in this
            # task, that holds up no other connection.
            pong = await connection.ping()
            if self.timeout is None:
                return  # websockets cancels the future if the connection closes
            try:
                async with asyncio.timeout(self.timeout):
                    await pong
            except TimeoutError:
                logger.debug("Closing a connection that didn't answer a keepalive ping.")
                await close_within(
                    connection,
                    self.close_timeout,
                    CloseCode.INTERNAL_ERROR,
                    "keepalive ping timeout",
                )
        except ConnectionClosed:
            pass
        finally:
            self._waiting.discard(connection)


async def close_within(
    connection: ServerConnection, timeout: float | None, code: CloseCode, reason: str
) -> None:
    """Close ``connection``, aborting it if that takes longer than ``timeout`` (or 1 s).

    For a peer that isn't reading: the close frame may never be answered, and
    websockets' ``close()`` waits for the write buffer to drain before its own timeout
    starts, so the whole of it is bounded here.
    """
    try:
        async with asyncio.timeout(timeout or 1.0):
            await connection.close(code, reason)
    except TimeoutError:
        connection.transport.abort()
