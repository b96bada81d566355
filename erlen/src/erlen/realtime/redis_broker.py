"""The Redis pub/sub broker: events between processes and replicas.

Each broker (one per process) holds:

- a synchronous client for :meth:`~RedisBroker.publish`, shared by every thread;
- on its event loop, **one** pub/sub connection for all local listeners, whatever their
  number: a channel is subscribed in Redis when its first listener arrives and
  unsubscribed when its last one leaves;
- on that loop, a second async connection for :meth:`~RedisBroker.apublish`.

When the pub/sub connection drops (Redis restart, failover, ``CLIENT KILL``) or stops
answering pings, the broker reconnects with backoff, subscribes to every channel again and,
once Redis confirms, calls the resync callbacks: events published in between are lost,
and clients must be told to refetch.

Publishing runs one Lua script per event, atomically: ``INCR`` the channel's counter
(``{prefix}:seq:{channel}``), stamp the number into the payload as ``"seq"``, ``XADD``
it to the channel's capped stream (``{prefix}:log:{channel}``, the replay window) and
``PUBLISH`` it. Because the script runs alone, numbers follow the order in which
subscribers receive events, even with many publishers. Batches go in one pipeline.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import typing as t

import redis
import redis.asyncio
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from .. import _fastpaths
from . import resp
from .broker import Broker
from .broker import DEFAULT_MAX_EVENT_SIZE
from .broker import DEFAULT_REPLAY_SIZE
from .broker import DEFAULT_REPLAY_TTL
from .errors import BrokerUnavailable

logger = logging.getLogger("erlen.realtime.broker")

T = t.TypeVar("T")

# KEYS: counter, log. ARGV: payload (a JSON object), replay size, log TTL (ms), counter
# TTL (ms), pub/sub channel. Returns the event's seq.
_PUBLISH_LUA = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local body = ARGV[1]
local stamped
if body == '{}' then
  stamped = '{"seq":' .. seq .. '}'
else
  stamped = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
end
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', stamped)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('PUBLISH', ARGV[5], stamped)
return seq
"""

# KEYS: counter, log. ARGV: since ('' for none), most entries to return. Returns
# {seq, newest payload, ..., oldest payload}.
_HISTORY_LUA = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] == '' then return {seq} end
local wanted = seq - tonumber(ARGV[1])
if wanted <= 0 or wanted > tonumber(ARGV[2]) then return {seq} end
local result = {seq}
for _, entry in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', wanted)) do
  result[#result + 1] = entry[2][2]
end
return result
"""

# Presence of a channel: a sorted set of "member\nreplica" entries scored by when they
# expire (Redis's clock), and a hash counting each member's entries. Every update first
# removes expired entries (a replica that died stops renewing its own), then applies the
# op to the given entries: "join" adds or renews them, "leave" removes them. Returns
# {"join"|"leave", member, ...}: members that appeared or disappeared.
# KEYS: entries, counts. ARGV: op, TTL (ms), entries...
_PRESENCE_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local changes = {}
local function member_of(entry)
  return string.sub(entry, 1, string.find(entry, '\\n', 1, true) - 1)
end
local function drop(entry)
  local member = member_of(entry)
  if redis.call('HINCRBY', KEYS[2], member, -1) <= 0 then
    redis.call('HDEL', KEYS[2], member)
    changes[#changes + 1] = 'leave'
    changes[#changes + 1] = member
  end
end
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('ZREM', KEYS[1], entry)
  drop(entry)
end
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do
  local entry = ARGV[i]
  if ARGV[1] == 'join' then
    if redis.call('ZADD', KEYS[1], now + ttl, entry) == 1 then
      local member = member_of(entry)
      if redis.call('HINCRBY', KEYS[2], member, 1) == 1 then
        changes[#changes + 1] = 'join'
        changes[#changes + 1] = member
      end
    end
  elseif redis.call('ZREM', KEYS[1], entry) == 1 then
    drop(entry)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], 2 * ttl)
  redis.call('PEXPIRE', KEYS[2], 2 * ttl)
else
  redis.call('DEL', KEYS[2])
end
return changes
"""

# The entries of a channel's presence that have not expired. KEYS: entries.
_PRESENT_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""

# The counter outlives the replay window, so that a client coming back after the window
# expired is told to resync rather than seeing numbers start again.
_COUNTER_TTL = 7 * 86400.0


class RedisBroker(Broker):
    """A broker on Redis pub/sub; see the module docstring.

    :param url: A ``redis://``, ``rediss://`` or ``unix://`` URL (passwords are never
        logged).
    :param prefix: Channel namespace, as for every broker.
    :param health_check_interval: Seconds without traffic after which the pub/sub
        connection is pinged; no answer within twice that reconnects.
    :param reconnect_max_delay: Upper bound of the backoff between reconnection attempts.
    :param socket_timeout: Timeout of publishing commands and of connecting, in seconds.
    """

    backend = "redis"

    #: Whether the pub/sub connection's replies are parsed here rather than by redis-py
    #: (``raw_pubsub`` in erlen._fastpaths); decided per class.
    _fast_raw_pubsub: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, RedisBroker)

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        subscribe_timeout: float = 5.0,
        replay_size: int = DEFAULT_REPLAY_SIZE,
        replay_ttl: float = DEFAULT_REPLAY_TTL,
        health_check_interval: float = 10.0,
        reconnect_max_delay: float = 5.0,
        socket_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            prefix=prefix,
            max_event_size=max_event_size,
            subscribe_timeout=subscribe_timeout,
            replay_size=replay_size,
            replay_ttl=replay_ttl,
        )
        self.url = url
        self.health_check_interval = health_check_interval
        self.reconnect_max_delay = reconnect_max_delay
        self.socket_timeout = socket_timeout
        #: How many times the pub/sub connection was re-established.
        self.reconnects = 0
        self._sync_client: redis.Redis | None = None
        self._sync_lock = threading.Lock()
        self._pub_client: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None
        self._sub_client: redis.asyncio.Redis | None = None
        self._runner: asyncio.Task[None] | None = None
        self._state = "idle"
        self._connected_once = False
        # Receiving-side bookkeeping, touched only on the loop:
        self._pubsub: PubSub | None = None
        self._active: set[str] = set()  # channels SUBSCRIBEd on the current connection
        self._inflight: dict[str, int] = {}  # SUBSCRIBEs not confirmed yet, per channel
        self._ready: dict[str, asyncio.Future[None]] = {}  # resolved once confirmed
        self._resync_pending: set[str] | None = None
        self._resync_owed = False
        self._dirty: asyncio.Event | None = None
        self._last_seen = 0.0
        # Whether the current connection is read by _receive_raw (the raw_pubsub fast path).
        self._reads_raw = False

    @property
    def state(self) -> str:
        """See :attr:`Broker.state`."""
        return "closed" if self._closed else self._state

    def health(self) -> dict[str, t.Any]:
        """See :meth:`Broker.health`; adds the number of reconnections."""
        info = super().health()
        info["reconnects"] = self.reconnects
        return info

    def ping(self) -> None:
        """See :meth:`Broker.ping`: a Redis ``PING`` on the publishing connection."""
        self._check_open()
        try:
            self._client().ping()
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Redis did not answer PING: {type(e).__name__}.") from e

    # -- publishing -------------------------------------------------------------------

    def _client(self) -> redis.Redis:
        client = self._sync_client
        if client is None:
            with self._sync_lock:
                client = self._sync_client
                if client is None:
                    client = self._sync_client = redis.Redis.from_url(
                        self.url,
                        socket_timeout=self.socket_timeout,
                        socket_connect_timeout=self.socket_timeout,
                        health_check_interval=30,
                    )
        return client

    def _script_args(self, channel: str, payload: bytes) -> tuple[t.Any, ...]:
        return (
            _PUBLISH_LUA_SHA,
            2,
            f"{self._key_prefix}seq:{channel}",
            f"{self._key_prefix}log:{channel}",
            payload,
            self.replay_size,
            int(self.replay_ttl * 1000),
            int(max(self.replay_ttl, _COUNTER_TTL) * 1000),
            self.key(channel),
        )

    def _publish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        channel = batch[0][0]
        try:
            client = self._client()
            for attempt in (1, 2):
                pipe = client.pipeline(transaction=False)
                for channel, payload in batch:
                    pipe.evalsha(*self._script_args(channel, payload))
                results = pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                    # Redis restarted or flushed its scripts. A missing script fails
                    # every call, so nothing was published: load it, send again.
                    if not all(isinstance(r, NoScriptError) for r in results):
                        raise redis.ResponseError("Lua script cache changed mid-batch")
                    client.script_load(_PUBLISH_LUA)
                    continue
                break
            for result in results:
                if isinstance(result, Exception):
                    raise result
            return [int(result) for result in results]
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not publish on channel {channel!r}: {e}") from e

    async def _apublish_many(self, batch: list[tuple[str, bytes]]) -> list[int]:
        client = self._async_client()
        if client is None:
            # That connection belongs to another loop: publish from a thread instead.
            return await asyncio.to_thread(self._publish_many, batch)
        channel = batch[0][0]
        try:
            for attempt in (1, 2):
                pipe = client.pipeline(transaction=False)
                for channel, payload in batch:
                    pipe.evalsha(*self._script_args(channel, payload))
                results = await pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                    if not all(isinstance(r, NoScriptError) for r in results):
                        raise redis.ResponseError("Lua script cache changed mid-batch")
                    await client.script_load(_PUBLISH_LUA)
                    continue
                break
            for result in results:
                if isinstance(result, Exception):
                    raise result
            return [int(result) for result in results]
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not publish on channel {channel!r}: {e}") from e

    def _async_client(self) -> redis.asyncio.Redis | None:
        """This loop's client for commands (not pub/sub); ``None`` if another loop owns it."""
        loop = asyncio.get_running_loop()
        pub = self._pub_client
        if pub is not None and pub[0] is not loop:
            if not pub[0].is_closed():
                return None
            pub = None
        if pub is None:
            client = redis.asyncio.Redis.from_url(
                self.url,
                socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout,
            )
            pub = self._pub_client = (loop, client)
        return pub[1]

    async def _history(self, channel: str, since: int | None) -> tuple[int, list[bytes]]:
        keys = (f"{self._key_prefix}seq:{channel}", f"{self._key_prefix}log:{channel}")
        # MAXLEN ~ may keep a few more: the window is exactly replay_size for readers.
        args = ("" if since is None else since, self.replay_size)
        try:
            result = await self._aeval(_HISTORY_LUA, _HISTORY_LUA_SHA, keys, args)
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not read the history of {channel!r}: {e}") from e
        return int(result[0]), list(reversed(result[1:]))

    def _eval(self, source: str, sha: str, keys: t.Sequence[str], args: t.Sequence[t.Any]) -> t.Any:
        client = self._client()
        try:
            return client.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            client.script_load(source)
            return client.evalsha(sha, len(keys), *keys, *args)

    async def _aeval(
        self, source: str, sha: str, keys: t.Sequence[str], args: t.Sequence[t.Any]
    ) -> t.Any:
        client = self._async_client()
        if client is None:
            return await asyncio.to_thread(self._eval, source, sha, keys, args)
        try:
            return await client.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(source)
            return await client.evalsha(sha, len(keys), *keys, *args)

    # -- presence -----------------------------------------------------------------------

    def _presence_keys(self, channel: str) -> tuple[str, str]:
        return (
            f"{self._key_prefix}presence:{channel}",
            f"{self._key_prefix}presence-count:{channel}",
        )

    async def _presence_update(
        self, channel: str, op: str, members: t.Sequence[str], replica: str, ttl: float
    ) -> list[tuple[str, str]]:
        entries = [f"{member}\n{replica}" for member in members]
        args = (op, int(ttl * 1000), *entries)
        try:
            result = await self._aeval(
                _PRESENCE_LUA, _PRESENCE_LUA_SHA, self._presence_keys(channel), args
            )
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not update the presence of {channel!r}: {e}") from e
        texts = [_text(item) for item in result]
        return list(zip(texts[::2], texts[1::2], strict=True))

    def _presence_members(self, channel: str) -> list[str]:
        try:
            result = self._eval(
                _PRESENT_LUA, _PRESENT_LUA_SHA, self._presence_keys(channel)[:1], ()
            )
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not read the presence of {channel!r}: {e}") from e
        return _members(result)

    async def _apresence_members(self, channel: str) -> list[str]:
        try:
            result = await self._aeval(
                _PRESENT_LUA, _PRESENT_LUA_SHA, self._presence_keys(channel)[:1], ()
            )
        except redis.RedisError as e:
            raise BrokerUnavailable(f"Could not read the presence of {channel!r}: {e}") from e
        return _members(result)

    async def aclose(self) -> None:
        """See :meth:`Broker.aclose`; also closes this loop's command connection."""
        await super().aclose()
        pub = self._pub_client
        if pub is not None and pub[0] is asyncio.get_running_loop():
            self._pub_client = None
            await pub[1].aclose()

    def _close_sync(self) -> None:
        with self._sync_lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    # -- receiving --------------------------------------------------------------------

    def _on_bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._dirty = asyncio.Event()
        self._state = "connecting"
        self._runner = loop.create_task(self._run(), name=f"erlen-realtime-redis-{self.prefix}")

    def _channel_added(self, channel: str) -> None:
        assert self._loop is not None
        self._ready[channel] = self._loop.create_future()
        # Subscribes now if connected; otherwise the (re)connection will.
        self._wake()

    def _channel_removed(self, channel: str) -> None:
        future = self._ready.pop(channel, None)
        if future is not None and not future.done():
            future.set_result(None)
        if self._resync_pending is not None:
            self._resync_pending.discard(channel)
            self._maybe_resynced()
        self._wake()

    async def wait_ready(self, channel: str) -> None:
        """See :meth:`Broker.wait_ready`."""
        future = self._ready.get(channel)
        if future is None or future.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(future), self.subscribe_timeout)
        except TimeoutError:
            # Carry on (the subscription stays), and resync once Redis confirms it.
            self._resync_owed = True
            logger.warning("Redis did not confirm the subscription to %r in time.", channel)

    def _wake(self) -> None:
        if self._dirty is not None:
            self._dirty.set()

    async def _run(self) -> None:
        """Keep one pub/sub connection alive for as long as the broker is bound."""
        delay = 0.1
        self._sub_client = redis.asyncio.Redis.from_url(
            self.url,
            socket_connect_timeout=self.socket_timeout,
            client_name=f"{self.prefix}:realtime",
            # Failures must reach this loop, which resubscribes and resyncs; redis-py's own
            # retry would reconnect behind its back.
            retry=Retry(NoBackoff(), 0),
        )
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if self._connected_once and self._state == "connected":
                    delay = 0.1  # it worked until now: retry soon
                log = logger.warning if self._state == "connected" else logger.info
                log("Redis pub/sub connection lost (%s); reconnecting in %.1f s.", e, delay)
            finally:
                self._state = "disconnected"
                self._pubsub = None
                self._active.clear()
                self._inflight.clear()
                self._resync_pending = None
                if self._listeners:
                    self._resync_owed = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max_delay)

    async def _session(self) -> None:
        """Connect, subscribe to every wanted channel, then receive until something fails."""
        assert self._sub_client is not None and self._loop is not None and self._dirty is not None
        loop = self._loop
        pubsub = self._sub_client.pubsub()
        try:
            await _checked(pubsub.connect())  # type: ignore[no-untyped-call]
            self._last_seen = loop.time()
            if self._connected_once:
                self.reconnects += 1
            self._connected_once = True
            self._pubsub = pubsub
            self._state = "connected"
            channels = set(self._listeners)
            for channel in channels:
                future = self._ready.get(channel)
                if future is None or future.done():
                    self._ready[channel] = loop.create_future()
            if channels and self._resync_owed:
                # Events were published while these channels were not subscribed.
                self._resync_owed = False
                self._resync_pending = channels
            self._dirty.set()
            tasks = [
                loop.create_task(self._receive(pubsub)),
                loop.create_task(self._reconcile(pubsub)),
                loop.create_task(self._watch(pubsub)),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                task.result()
            raise redis.ConnectionError("pub/sub tasks ended")  # pragma: no cover
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except Exception:  # pragma: no cover - the connection is gone anyway
                pass

    async def _receive(self, pubsub: PubSub) -> None:
        stream = _raw_stream(pubsub) if self._fast_raw_pubsub else None
        self._reads_raw = stream is not None
        if stream is not None:
            await self._receive_raw(stream)
            return
        loop = asyncio.get_running_loop()
        prefix_length = len(self._key_prefix)
        while True:
            message = await _checked(pubsub.get_message(timeout=None))
            self._last_seen = loop.time()
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                channel = _text(message["channel"])[prefix_length:]
                data = message["data"]
                if isinstance(data, bytes):
                    self._dispatch(channel, data)
            elif kind == "subscribe":
                self._confirmed(_text(message["channel"])[prefix_length:])

    async def _receive_raw(self, stream: asyncio.StreamReader) -> None:
        """:meth:`_receive` reading the connection's bytes itself (``raw_pubsub``).

        One read, however many events it brought, is parsed and dispatched in one go;
        redis-py's ``get_message`` costs a chain of coroutines per event. Only this task
        reads the connection: subscribing and pinging through redis-py only write.
        """
        loop = asyncio.get_running_loop()
        prefix_length = len(self._key_prefix.encode())
        parser = resp.ReplyParser()
        dispatch = self._dispatch
        while True:
            data = await stream.read(_READ_SIZE)
            if not data:
                raise redis.ConnectionError("Connection closed by server.")
            self._last_seen = loop.time()
            for reply in parser.feed(data):
                if type(reply) is list and len(reply) == 3:
                    kind, channel, body = reply
                    if kind == b"message":
                        if type(body) is bytes:
                            dispatch(channel[prefix_length:].decode(), body)
                    elif kind == b"subscribe":
                        self._confirmed(channel[prefix_length:].decode())
                elif isinstance(reply, resp.ReplyError):
                    raise redis.ResponseError(str(reply))
                # Anything else: unsubscribe confirmations, PONGs.

    def _confirmed(self, channel: str) -> None:
        remaining = self._inflight.get(channel, 0) - 1
        if remaining > 0:
            self._inflight[channel] = remaining
            return
        self._inflight.pop(channel, None)
        future = self._ready.get(channel)
        if future is not None and not future.done():
            future.set_result(None)
        if self._resync_pending is not None:
            self._resync_pending.discard(channel)
            self._maybe_resynced()

    def _maybe_resynced(self) -> None:
        if self._resync_pending is not None and not self._resync_pending:
            self._resync_pending = None
            self._fire_resync()

    async def _reconcile(self, pubsub: PubSub) -> None:
        """Make Redis's subscriptions match the channels that have listeners."""
        assert self._dirty is not None
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            added = [channel for channel in self._listeners if channel not in self._active]
            removed = [channel for channel in self._active if channel not in self._listeners]
            if added:
                self._active.update(added)
                for channel in added:
                    self._inflight[channel] = self._inflight.get(channel, 0) + 1
                await _checked(pubsub.subscribe(*(self.key(channel) for channel in added)))
            if removed:
                self._active.difference_update(removed)
                await _checked(pubsub.unsubscribe(*(self.key(channel) for channel in removed)))

    async def _watch(self, pubsub: PubSub) -> None:
        """Ping an idle connection; treat one that stops answering as lost."""
        loop = asyncio.get_running_loop()
        interval = self.health_check_interval
        while True:
            await asyncio.sleep(interval / 2)
            idle = loop.time() - self._last_seen
            if idle > 2 * interval:
                raise redis.ConnectionError(f"no reply from Redis for {idle:.1f} s")
            if idle > interval:
                await _checked(pubsub.ping())

    def _forget_loop(self) -> None:
        # The objects belonged to a closed loop; nothing can be awaited on them any more.
        self._resync_owed = False
        self._runner = None
        self._sub_client = None
        self._pubsub = None
        self._dirty = None
        self._ready.clear()
        self._active.clear()
        self._inflight.clear()
        self._resync_pending = None
        self._state = "idle"
        self._connected_once = False

    async def _disconnect(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            # Bounded: a connection that hangs must not hang shutting down.
            await asyncio.wait([runner], timeout=5)
        for future in self._ready.values():
            if not future.done():
                future.set_result(None)
        self._ready.clear()
        self._resync_owed = False
        self._state = "idle"
        self._connected_once = False
        self._dirty = None
        sub, self._sub_client = self._sub_client, None
        if sub is not None:
            await sub.aclose()
        pub = self._pub_client
        if pub is not None and pub[0] is asyncio.get_running_loop():
            self._pub_client = None
            await pub[1].aclose()


_fastpaths.decide(RedisBroker, RedisBroker)

_READ_SIZE = 65536

# redis-py's pure-Python reply parsers, which read the connection's StreamReader only while
# a reply is wanted and keep nothing between replies. hiredis' keeps its own buffer.
_PLAIN_PARSERS = frozenset({"_AsyncRESP2Parser", "_AsyncRESP3Parser"})


def _raw_stream(pubsub: PubSub) -> asyncio.StreamReader | None:
    """The stream a connected ``pubsub`` reads from, if the broker may read it itself.

    That is: a plain asyncio connection with one of redis-py's Python parsers holding no
    unread bytes (only the connection's handshake went through it). Private attributes
    of redis-py, read here only; otherwise ``None`` and ``get_message()``. The tests run
    the broker both ways (``ERLEN_NO_FAST_PATHS=1``).
    """
    connection = pubsub.connection
    stream = getattr(connection, "_reader", None)
    parser = getattr(connection, "_parser", None)
    if (
        not isinstance(stream, asyncio.StreamReader)
        or type(parser).__name__ not in _PLAIN_PARSERS
        or getattr(parser, "_buffer", None) != b""
        or getattr(parser, "_chunks", None)
    ):
        return None
    return stream


async def _checked(awaitable: t.Awaitable[T]) -> T:
    """Await a redis-py call, then honour a cancellation it may have swallowed.

    Some pub/sub commands (``unsubscribe`` in redis-py 8.1) return normally when the task
    awaiting them is cancelled; the receiving tasks would then never stop.
    """
    result = await awaitable
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    return result


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


_PUBLISH_LUA_SHA = _sha1(_PUBLISH_LUA)
_HISTORY_LUA_SHA = _sha1(_HISTORY_LUA)
_PRESENCE_LUA_SHA = _sha1(_PRESENCE_LUA)
_PRESENT_LUA_SHA = _sha1(_PRESENT_LUA)


def _members(entries: t.Iterable[bytes | str]) -> list[str]:
    return sorted({_text(entry).partition("\n")[0] for entry in entries})


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
