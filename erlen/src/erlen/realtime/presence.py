"""Presence tracking for a realtime server: which members are on which channel.

A :class:`PresenceTracker` belongs to one server (one replica). It counts the replica's
own connections per ``(channel, member)`` and tells the broker only when a member
arrives on or leaves the replica, so a user with five tabs open is one entry. The
broker keeps one entry per member and replica, expiring after ``ttl``; the tracker
renews its entries every ``interval`` (``ttl`` is three intervals), so the entries of a
replica that crashed disappear on their own, and the next update of the channel by any
replica publishes their ``presence.leave``.

Updates go through one task, in order: a quick leave-and-come-back never ends with the
member missing.
"""

from __future__ import annotations

import asyncio
import logging
import typing as t
import uuid

if t.TYPE_CHECKING:  # pragma: no cover
    from .broker import Broker

logger = logging.getLogger("erlen.realtime.presence")

#: ``presence_id(session, channel)``: the member a connection counts as on a channel
#: (for example ``f"user:{session['user_id']}"``), or ``None`` for no presence there.
PresenceIdCallable = t.Callable[[t.Mapping[str, t.Any], str], "str | None"]

_STOP: t.Any = object()


class PresenceTracker:
    """One replica's presence entries, kept in the broker; see the module docstring.

    :param broker: Where entries live (shared by all replicas).
    :param interval: Seconds between renewals; entries expire after three.
    :param replica: This replica's id; a random one by default.
    """

    def __init__(self, broker: Broker, *, interval: float = 5.0, replica: str | None = None):
        if interval <= 0:
            raise ValueError("The presence interval must be positive.")
        self.broker = broker
        self.interval = interval
        self.ttl = 3 * interval
        self.replica = replica or uuid.uuid4().hex
        # channel -> member -> this replica's connections counting as that member
        self._local: dict[str, dict[str, int]] = {}
        self._ops: asyncio.Queue[t.Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the task that sends updates and renews entries (on the running loop)."""
        self._ops = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="erlen-realtime-presence"
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Send the updates still queued (the leaves of closed connections), then stop."""
        task, ops = self._task, self._ops
        self._task = None
        if task is None or ops is None:
            return
        ops.put_nowait(_STOP)
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def join(self, channel: str, member: str) -> bool:
        """Count one more local connection of ``member`` on ``channel``.

        When the member is new on this replica, waits until the broker recorded it (so
        it is present by the time the client hears it is subscribed) and returns
        ``True``: a ``presence.join`` may have been published.
        """
        counts = self._local.setdefault(channel, {})
        counts[member] = counts.get(member, 0) + 1
        if counts[member] > 1 or self._ops is None:
            return False
        done = asyncio.get_running_loop().create_future()
        self._ops.put_nowait(("join", channel, member, done))
        await done
        return True

    def leave(self, channel: str, member: str) -> None:
        """Count one local connection less; the broker hears of it in the background."""
        counts = self._local.get(channel)
        if counts is None or member not in counts:
            return
        counts[member] -= 1
        if counts[member] > 0:
            return
        del counts[member]
        if not counts:
            del self._local[channel]
        if self._ops is not None:
            self._ops.put_nowait(("leave", channel, member, None))

    async def _run(self) -> None:
        assert self._ops is not None
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self.interval
        while True:
            try:
                op = await asyncio.wait_for(self._ops.get(), max(0.0, renew_at - loop.time()))
            except TimeoutError:
                renew_at = loop.time() + self.interval
                await self._renew()
                continue
            if op is _STOP:
                return
            kind, channel, member, done = op
            try:
                if kind == "join":
                    await self.broker.presence_join(
                        channel, member, replica=self.replica, ttl=self.ttl
                    )
                else:
                    await self.broker.presence_leave(
                        channel, member, replica=self.replica, ttl=self.ttl
                    )
            except Exception:
                logger.warning("Could not record presence on %r.", channel, exc_info=True)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _renew(self) -> None:
        snapshot = {channel: list(counts) for channel, counts in self._local.items()}
        if not snapshot:
            return
        try:
            await self.broker.presence_refresh(snapshot, replica=self.replica, ttl=self.ttl)
        except Exception:
            logger.warning("Could not renew presence entries.", exc_info=True)
