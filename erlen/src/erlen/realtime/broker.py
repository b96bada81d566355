"""Brokers carry events from publishers (web, worker) to realtime servers.

Two implementations share one interface and one contract test suite:
:class:`~erlen.realtime.redis_broker.RedisBroker` (Redis pub/sub, between processes) and
:class:`~erlen.realtime.memory.MemoryBroker` (its in-process twin, for ``make dev`` and
tests). :func:`broker_from_url` picks one from a URL.

Publishing is synchronous and thread-safe (:meth:`Broker.publish`), for WSGI views and job
workers, with an async twin (:meth:`Broker.apublish`). An event is a ``dict`` that encodes
to a JSON object of at most ``max_event_size`` bytes; ``type`` and ``channel`` are reserved
because the websocket frame uses them. Channels are namespaced with the broker's ``prefix``.

Receiving happens on one asyncio event loop per broker (the first one that listens). Local
code registers plain callbacks with :meth:`Broker.add_listener`; the broker calls each one
once per event with the encoded payload, so a server can fan one event out to thousands of
sockets without a task, a queue or a Redis connection per socket. :meth:`Broker.subscribe`
wraps that in an async iterator of ``(channel, event)`` pairs for everything else.

Delivery is at-most-once: a subscriber that was not listening when an event was published
never sees it. When the broker may have lost events (a Redis reconnect), it calls its
resync callbacks so clients can be told to refetch from the source of truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import typing as t
from urllib.parse import urlsplit

from .errors import BrokerClosed
from .errors import EventTooLarge
from .errors import InvalidEvent
from .protocol import FRAME_KEYS
from .protocol import RESERVED_EVENT_KEYS
from .protocol import validate_channel

if t.TYPE_CHECKING:  # pragma: no cover
    from .memory import MemoryBroker
    from .redis_broker import RedisBroker

#: Called on the broker's event loop with ``(channel, payload)`` for each event; ``payload``
#: is the event's JSON encoding. It must not block.
Listener = t.Callable[[str, bytes], None]

#: Called on the broker's event loop when events may have been lost.
ResyncCallback = t.Callable[[], None]

#: Largest encoded event accepted by default, in bytes.
DEFAULT_MAX_EVENT_SIZE = 64 * 1024

_PREFIX_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

logger = logging.getLogger("erlen.realtime.broker")


def encode_event(channel: str, event: t.Any, *, max_size: int = DEFAULT_MAX_EVENT_SIZE) -> bytes:
    """Return the payload a broker carries for ``event``: compact UTF-8 JSON.

    :raise InvalidEvent: ``event`` is not a dict, uses a reserved key, or holds something
        JSON can't represent (including NaN and infinity).
    :raise EventTooLarge: The payload is larger than ``max_size`` bytes.
    """
    if not isinstance(event, dict):
        raise InvalidEvent(channel, f"must be a dict, not {type(event).__name__}.")
    reserved = RESERVED_EVENT_KEYS.intersection(event)
    if reserved:
        raise InvalidEvent(channel, f"uses the reserved key {sorted(reserved)[0]!r}.")
    try:
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidEvent(channel, f"can't be encoded as JSON: {e}.") from None
    except RecursionError:
        raise InvalidEvent(channel, "is nested too deeply (or contains itself).") from None
    payload = text.encode()
    if len(payload) > max_size:
        raise EventTooLarge(channel, len(payload), max_size)
    return payload


def decode_event(payload: bytes) -> dict[str, t.Any] | None:
    """Return the event in ``payload``, or ``None`` if it isn't one a broker could carry.

    Brokers check what they receive with this, because anyone with access to Redis can
    publish on its channels.
    """
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not FRAME_KEYS.isdisjoint(event):
        return None
    seq = event.get("seq")
    if seq is not None and (type(seq) is not int or seq < 1):
        return None
    return event


def stamp_seq(payload: bytes, seq: int) -> bytes:
    """Return ``payload`` (an encoded event) with ``"seq"`` as its first key.

    Both brokers carry events in this form, and the Redis broker's publishing script
    builds the same bytes, so a receiver can read the number without decoding.
    """
    if payload == b"{}":
        return b'{"seq":%d}' % seq
    return b'{"seq":%d,' % seq + payload[1:]


def seq_of(payload: bytes) -> int | None:
    """The ``seq`` a broker stamped on ``payload`` (see :func:`stamp_seq`), if any."""
    if not payload.startswith(b'{"seq":'):
        return None
    end = payload.find(b",", 7)
    if end < 0:
        end = len(payload) - 1
    try:
        return int(payload[7:end])
    except ValueError:
        return None


def _check_member(member: object) -> None:
    if not isinstance(member, str) or not 0 < len(member) <= 200 or "\n" in member:
        raise ValueError(f"Invalid presence member {member!r}: 1-200 characters, no newline.")


class History(t.NamedTuple):
    """What :meth:`Broker.history` found for a channel.

    ``seq`` is the channel's latest event number (0 when nothing was published yet).
    ``events`` holds the payloads of the events after the requested ``since``, oldest
    first, or is ``None`` when the replay window no longer covers them all (the client
    must refetch: ``resync``).
    """

    seq: int
    events: list[bytes] | None


#: Events kept per channel for replay, by default.
DEFAULT_REPLAY_SIZE = 256

#: Seconds a channel's replay window is kept after its last event, by default.
DEFAULT_REPLAY_TTL = 300.0

# A received payload may exceed max_event_size by the stamped seq.
_SEQ_SLACK = 32


class Broker:
    """The interface both brokers implement; see the module docstring.

    :param prefix: Namespace for every channel, so apps (and test runs) sharing one Redis
        don't see each other's events.
    :param max_event_size: Largest encoded event, in bytes; both publishing and receiving
        enforce it.
    :param subscribe_timeout: How long :meth:`wait_ready` waits for the backend to confirm a
        subscription before giving up waiting (the subscription itself stays).
    :param replay_size: Events kept per channel for :meth:`history` (the replay window);
        0 keeps none (events still get sequence numbers).
    :param replay_ttl: Seconds a channel's replay window (and, on Redis, at least that long
        its sequence counter) is kept after its last event.
    """

    #: Short name of the backend, reported by :meth:`health`.
    backend = "abstract"

    def __init__(
        self,
        *,
        prefix: str,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        subscribe_timeout: float = 5.0,
        replay_size: int = DEFAULT_REPLAY_SIZE,
        replay_ttl: float = DEFAULT_REPLAY_TTL,
    ) -> None:
        if not isinstance(prefix, str) or _PREFIX_RE.fullmatch(prefix) is None:
            raise ValueError(
                f"Invalid broker prefix {prefix!r}: use letters, digits, '_', '.' and '-'."
            )
        self.prefix = prefix
        self._key_prefix = f"{prefix}:"
        self.max_event_size = max_event_size
        self.subscribe_timeout = subscribe_timeout
        if replay_size < 0 or replay_ttl <= 0:
            raise ValueError("replay_size must be >= 0 and replay_ttl > 0.")
        self.replay_size = replay_size
        self.replay_ttl = replay_ttl
        self._loop: asyncio.AbstractEventLoop | None = None
        # channel -> listener -> how many times it was added (a server adds its one fan-out
        # callback once per websocket subscribed to the channel).
        self._listeners: dict[str, dict[Listener, int]] = {}
        self._resync_callbacks: list[ResyncCallback] = []
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r} state={self.state!r}>"

    def key(self, channel: str) -> str:
        """The backend's name for ``channel``: the channel under the broker's prefix."""
        return self._key_prefix + channel

    # -- publishing -------------------------------------------------------------------

    def publish(self, channel: str, event: dict[str, t.Any]) -> int:
        """Send ``event`` to every current subscriber of ``channel``, in any process.

        Safe to call from any thread; it doesn't need an event loop. Returns the event's
        sequence number in its channel (1, 2, 3, ...), which subscribers receive as
        ``"seq"``; publishing assigns it, so it follows the order of delivery.

        :raise InvalidChannel: ``channel`` is not a valid channel name.
        :raise InvalidEvent: ``event`` can't be carried (see :func:`encode_event`).
        :raise BrokerUnavailable: The backend could not be reached.
        :raise BrokerClosed: The broker was closed.
        """
        self._check_open()
        validate_channel(channel)
        payload = encode_event(channel, event, max_size=self.max_event_size)
        return self._publish_many([(channel, payload)])[0]

    async def apublish(self, channel: str, event: dict[str, t.Any]) -> int:
        """Like :meth:`publish`, for async code."""
        self._check_open()
        validate_channel(channel)
        payload = encode_event(channel, event, max_size=self.max_event_size)
        return (await self._apublish_many([(channel, payload)]))[0]

    def publish_many(self, events: t.Iterable[tuple[str, dict[str, t.Any]]]) -> list[int]:
        """Publish several ``(channel, event)`` pairs in one round trip; return their seqs.

        Every event is checked before any is sent, so an invalid one publishes nothing.
        Events are delivered in the order given. A backend failure part-way can leave
        the first ones published.

        .. versionadded:: 0.2
        """
        self._check_open()
        batch = self._encode_all(events)
        return self._publish_many(batch) if batch else []

    async def apublish_many(self, events: t.Iterable[tuple[str, dict[str, t.Any]]]) -> list[int]:
        """Like :meth:`publish_many`, for async code.

        .. versionadded:: 0.2
        """
        self._check_open()
        batch = self._encode_all(events)
        return await self._apublish_many(batch) if batch else []

    def _encode_all(
        self, events: t.Iterable[tuple[str, dict[str, t.Any]]]
    ) -> list[tuple[str, bytes]]:
        batch = []
        for channel, event in events:
            validate_channel(channel)
            batch.append((channel, encode_event(channel, event, max_size=self.max_event_size)))
        return batch

    async def history(self, channel: str, since: int | None = None) -> History:
        """The channel's latest seq and, with ``since``, the events published after it.

        ``events`` is ``None`` when the replay window (the last ``replay_size`` events,
        kept ``replay_ttl`` seconds) no longer holds every event after ``since``, or
        when ``since`` is ahead of the channel (its counter was reset).

        .. versionadded:: 0.2
        """
        self._check_open()
        validate_channel(channel)
        seq, entries = await self._history(channel, since)
        if since is None:
            return History(seq, [])
        if since > seq:
            return History(seq, None)
        if since == seq:
            return History(seq, [])
        # Complete only if it starts right after ``since`` and ends at ``seq``, no holes.
        if len(entries) != seq - since or seq_of(entries[0]) != since + 1:
            return History(seq, None)
        return History(seq, entries)

    # -- presence -------------------------------------------------------------------------

    def presence(self, channel: str) -> list[str]:
        """The members present on ``channel``, on every replica, sorted.

        Synchronous, for web views. Realtime servers keep it up to date (see
        ``presence_id`` on :class:`~erlen.realtime.server.RealtimeServer`); entries of a
        replica that stopped renewing them expire.

        .. versionadded:: 0.2
        """
        self._check_open()
        validate_channel(channel)
        return self._presence_members(channel)

    async def apresence(self, channel: str) -> list[str]:
        """Like :meth:`presence`, for async code.

        .. versionadded:: 0.2
        """
        self._check_open()
        validate_channel(channel)
        return await self._apresence_members(channel)

    async def presence_join(self, channel: str, member: str, *, replica: str, ttl: float) -> None:
        """Record ``member`` as present on ``channel`` through ``replica``, for ``ttl`` s.

        When the member was present nowhere, a ``presence.join`` event is published on
        the channel. Renew entries with :meth:`presence_refresh` before they expire.

        .. versionadded:: 0.2
        """
        self._check_open()
        validate_channel(channel)
        _check_member(member)
        changes = await self._presence_update(channel, "join", [member], replica, ttl)
        await self._publish_presence(channel, changes)

    async def presence_leave(self, channel: str, member: str, *, replica: str, ttl: float) -> None:
        """Remove ``replica``'s entry for ``member``; ``presence.leave`` if it was the last.

        .. versionadded:: 0.2
        """
        self._check_open()
        validate_channel(channel)
        _check_member(member)
        changes = await self._presence_update(channel, "leave", [member], replica, ttl)
        await self._publish_presence(channel, changes)

    async def presence_refresh(
        self, members: t.Mapping[str, t.Iterable[str]], *, replica: str, ttl: float
    ) -> None:
        """Renew ``replica``'s entries (channel -> members), expiring others' stale ones.

        Members whose every entry expired (their replica died) get ``presence.leave``.

        .. versionadded:: 0.2
        """
        self._check_open()
        for channel, present in members.items():
            names = list(present)
            changes = await self._presence_update(channel, "join", names, replica, ttl)
            await self._publish_presence(channel, changes)

    async def _publish_presence(self, channel: str, changes: list[tuple[str, str]]) -> None:
        if changes:
            await self.apublish_many(
                [
                    (channel, {"event": f"presence.{kind}", "data": {"member": member}})
                    for kind, member in changes
                ]
            )

    # -- receiving (on the broker's event loop) ----------------------------------------

    async def start(self) -> None:
        """Bind the broker to the running event loop and connect its receiving side.

        Optional: the first listener does the same. Servers call it at start-up so their
        health check reports the backend's state before anyone subscribes.
        """
        self._bind_loop()

    def add_listener(self, channel: str, listener: Listener) -> None:
        """Call ``listener(channel, payload)`` for each event published on ``channel``.

        Must be called from the broker's event loop (the first call binds it). Adding the
        same listener again counts: it is still called once per event, and stays until
        removed as many times. Returns at once; see :meth:`wait_ready`.
        """
        self._check_open()
        validate_channel(channel)
        self._bind_loop()
        counts = self._listeners.get(channel)
        if counts is None:
            counts = self._listeners[channel] = {}
            counts[listener] = 1
            self._channel_added(channel)
        else:
            counts[listener] = counts.get(listener, 0) + 1

    def remove_listener(self, channel: str, listener: Listener) -> None:
        """Undo one :meth:`add_listener`; unknown listeners are ignored."""
        counts = self._listeners.get(channel)
        if counts is None or listener not in counts:
            return
        remaining = counts[listener] - 1
        if remaining:
            counts[listener] = remaining
            return
        del counts[listener]
        if not counts:
            del self._listeners[channel]
            self._channel_removed(channel)

    async def wait_ready(self, channel: str) -> None:
        """Wait until events of ``channel`` are being received (at most ``subscribe_timeout``).

        Returns at once when nothing is pending, including while the backend is
        disconnected: the subscription is renewed on reconnect, followed by a resync.
        """

    async def listen(self, channel: str, listener: Listener) -> None:
        """:meth:`add_listener`, then :meth:`wait_ready`."""
        self.add_listener(channel, listener)
        await self.wait_ready(channel)

    def subscribe(self, *channels: str, maxsize: int = 1000) -> Subscription:
        """Return an async iterator of ``(channel, event)`` for events on ``channels``.

        Use it as an async context manager, so the subscription ends with the block::

            async with broker.subscribe("board") as events:
                async for channel, event in events:
                    ...

        :param maxsize: Events kept for a consumer that falls behind; further events are
            dropped and counted in :attr:`Subscription.dropped`.
        """
        return Subscription(self, channels, maxsize=maxsize)

    def add_resync_callback(self, callback: ResyncCallback) -> None:
        """Call ``callback()`` on the event loop whenever events may have been missed."""
        self._resync_callbacks.append(callback)

    def remove_resync_callback(self, callback: ResyncCallback) -> None:
        """Stop calling ``callback`` on resync; unknown callbacks are ignored."""
        try:
            self._resync_callbacks.remove(callback)
        except ValueError:
            pass

    @property
    def channels(self) -> frozenset[str]:
        """The channels that have local listeners."""
        return frozenset(self._listeners)

    @property
    def state(self) -> str:
        """``"idle"``, ``"connecting"``, ``"connected"``, ``"disconnected"`` or ``"closed"``."""
        return "closed" if self._closed else "connected"

    def health(self) -> dict[str, t.Any]:
        """A summary for health checks: backend, state and number of channels listened to."""
        return {"backend": self.backend, "state": self.state, "channels": len(self._listeners)}

    def ping(self) -> None:
        """Check that events can be published now (for readiness probes).

        :raise BrokerUnavailable: The backend could not be reached.
        :raise BrokerClosed: The broker was closed.
        """
        self._check_open()

    # -- closing ------------------------------------------------------------------------

    async def disconnect(self) -> None:
        """Stop receiving on this event loop; publishing keeps working.

        Ends every :class:`Subscription`, forgets all listeners and releases the loop's
        connections. A later :meth:`add_listener` binds the broker to a loop again.
        """
        for subscription in tuple(self._subscriptions):
            subscription._end()
        for channel in tuple(self._listeners):
            del self._listeners[channel]
            self._channel_removed(channel)
        try:
            await self._disconnect()
        finally:
            self._loop = None

    async def aclose(self) -> None:
        """Close the broker: :meth:`disconnect`, then release the publishing connections."""
        if self._closed:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            if loop is asyncio.get_running_loop():
                await self.disconnect()
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self.disconnect(), loop)
                await asyncio.wrap_future(future)
        self._closed = True
        self._close_sync()

    def close(self) -> None:
        """Close the broker from synchronous code (``await aclose()`` inside its loop)."""
        if self._closed:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                raise RuntimeError("Inside the broker's event loop, use 'await broker.aclose()'.")
            if loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self.disconnect(), loop)
                try:
                    future.result(timeout=10)
                except Exception:
                    logger.warning("Could not disconnect %r cleanly.", self, exc_info=True)
        self._closed = True
        self._close_sync()

    # -- for subclasses -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerClosed(f"The broker {self.prefix!r} is closed.")

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        """Bind to the running loop on first use; refuse a second live loop."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return loop
        if self._loop is not None and not self._loop.is_closed():
            raise RuntimeError(
                "This broker already receives on another event loop. Use one broker per"
                " loop, or call 'await broker.disconnect()' on the other loop first."
            )
        # A previous loop ended without disconnect(): what it registered is stale.
        stale = tuple(self._listeners)
        self._listeners.clear()
        self._forget_loop()
        for channel in stale:
            self._channel_removed(channel)
        self._loop = loop
        self._on_bind(loop)
        return loop

    def _dispatch(self, channel: str, payload: bytes, *, trusted: bool = False) -> None:
        """Hand one received event to the listeners of ``channel`` (on the loop)."""
        counts = self._listeners.get(channel)
        if not counts:
            return
        if not trusted and (
            len(payload) > self.max_event_size + _SEQ_SLACK or decode_event(payload) is None
        ):
            logger.warning("Dropped a malformed event on channel %r.", channel)
            return
        for listener in tuple(counts):
            try:
                listener(channel, payload)
            except Exception:
                logger.exception("A listener of channel %r failed.", channel)

    def _fire_resync(self) -> None:
        """Call every resync callback (on the loop)."""
        for callback in tuple(self._resync_callbacks):
            try:
                callback()
            except Exception:
                logger.exception("A resync callback failed.")

    def _publish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        """Publish ``(channel, payload)`` pairs in order; return the seqs assigned."""
        raise NotImplementedError

    async def _apublish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        raise NotImplementedError

    async def _history(self, channel: str, since: int | None) -> tuple[int, list[bytes]]:
        """The latest seq, and (with ``since``) up to ``seq - since`` newest kept payloads."""
        raise NotImplementedError

    async def _presence_update(
        self, channel: str, op: str, members: t.Sequence[str], replica: str, ttl: float
    ) -> list[tuple[str, str]]:
        """Expire stale entries, then ``op`` ("join" or "leave") ``replica``'s entries of
        ``members``; return ``("join"|"leave", member)`` for members who came or went."""
        raise NotImplementedError

    def _presence_members(self, channel: str) -> list[str]:
        raise NotImplementedError

    async def _apresence_members(self, channel: str) -> list[str]:
        raise NotImplementedError

    def _on_bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The broker was bound to ``loop``: start receiving."""

    def _forget_loop(self) -> None:
        """The bound loop was closed without :meth:`disconnect`: drop what lived on it."""

    def _channel_added(self, channel: str) -> None:
        """``channel`` got its first local listener."""

    def _channel_removed(self, channel: str) -> None:
        """``channel`` lost its last local listener."""

    async def _disconnect(self) -> None:
        """Release what receiving holds on the bound loop."""

    def _close_sync(self) -> None:
        """Release the publishing side."""


_END: t.Any = object()


class Subscription:
    """Events of some channels as an async iterator of ``(channel, event)`` pairs.

    Created by :meth:`Broker.subscribe`. Each event is decoded for this subscription, so
    consumers may change the dicts they get.
    """

    def __init__(self, broker: Broker, channels: t.Iterable[str], *, maxsize: int = 1000) -> None:
        self.broker = broker
        self.channels = tuple(validate_channel(channel) for channel in channels)
        if not self.channels:
            raise ValueError("Subscribe to at least one channel.")
        self.maxsize = maxsize
        #: Events dropped because the consumer fell more than ``maxsize`` events behind.
        self.dropped = 0
        #: Times the broker reported that events may have been lost.
        self.resyncs = 0
        self._queue: asyncio.Queue[t.Any] | None = None
        self._closed = False

    @property
    def may_have_missed(self) -> bool:
        """Whether events may have been lost since the subscription started."""
        return bool(self.dropped or self.resyncs)

    async def start(self) -> None:
        """Start receiving; waits until the broker confirms (see :meth:`Broker.wait_ready`)."""
        if self._queue is not None:
            return
        if self._closed:
            raise BrokerClosed("The subscription is closed.")
        self._queue = asyncio.Queue()
        for channel in self.channels:
            self.broker.add_listener(channel, self._on_event)
        self.broker.add_resync_callback(self._on_resync)
        self.broker._subscriptions.add(self)
        for channel in self.channels:
            await self.broker.wait_ready(channel)

    async def get(self, timeout: float | None = None) -> tuple[str, dict[str, t.Any]]:
        """Return the next event; raise :exc:`TimeoutError` after ``timeout`` seconds.

        :raise StopAsyncIteration: The subscription (or its broker) was closed.
        """
        if self._queue is None:
            await self.start()
        assert self._queue is not None
        if timeout is None:
            item = await self._queue.get()
        else:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _END:
            self._queue.put_nowait(_END)  # every later call ends too
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop receiving; iteration ends once the events already received are consumed."""
        if self._closed:
            return
        for channel in self.channels:
            self.broker.remove_listener(channel, self._on_event)
        self.broker.remove_resync_callback(self._on_resync)
        self._end()

    def _end(self) -> None:
        self._closed = True
        self.broker._subscriptions.discard(self)
        if self._queue is not None:
            self._queue.put_nowait(_END)

    def _on_event(self, channel: str, payload: bytes) -> None:
        assert self._queue is not None
        if self._queue.qsize() >= self.maxsize:
            self.dropped += 1
            return
        self._queue.put_nowait((channel, json.loads(payload)))

    def _on_resync(self) -> None:
        self.resyncs += 1

    async def __aenter__(self) -> Subscription:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, dict[str, t.Any]]:
        return await self.get()


def broker_from_url(url: str, *, prefix: str, **options: t.Any) -> RedisBroker | MemoryBroker:
    """Build the broker a URL names.

    ``redis://``, ``rediss://`` and ``unix://`` URLs give a
    :class:`~erlen.realtime.redis_broker.RedisBroker`; ``memory://`` gives a
    :class:`~erlen.realtime.memory.MemoryBroker`, and ``memory://name`` one on a separate
    in-process exchange named ``name``. Other keyword arguments go to the broker.
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in {"redis", "rediss", "unix"}:
        from .redis_broker import RedisBroker

        return RedisBroker(url, prefix=prefix, **options)
    if scheme == "memory":
        from .memory import MemoryBroker

        return MemoryBroker(prefix=prefix, name=urlsplit(url).netloc, **options)
    # Never echo the URL: it may hold a password.
    raise ValueError(
        f"Unsupported broker URL scheme {scheme!r}: use redis://, rediss://, unix:// or memory://."
    )
