"""The websocket server: authenticated connections, subscriptions, and fan-out from a broker.

Built on the asyncio implementation of ``websockets``, with permessage-deflate off (each
connection would otherwise keep its own compression context and compress every broadcast
frame once per recipient). The handshake is checked before the upgrade: ``GET /healthz``
is answered over plain HTTP, a foreign ``Origin`` gets 403 and a missing or invalid
session cookie 401, so nothing unauthenticated ever holds a websocket.

Fan-out is the hot path and is kept lean: the server registers one callback per channel
with the broker (which holds one Redis connection for the whole process), builds each
``event`` frame and its websocket framing once from the payload the broker carried, and
writes those bytes to every subscriber's transport (events of one channel received in
the same loop pass in one write) -- no task, queue, Redis connection or frame building
per socket. Fan-out has no backpressure: a socket whose buffer passes its high-water
mark reports itself, and one more than ``max_send_buffer`` behind is disconnected
(close code 1013) instead of buffering without bound. It will reconnect and resume from
its last ``seq``.

Every event carries its ``seq`` in its channel. A client subscribing with ``since`` gets
what it missed from the broker's replay window; after the server's own broker
connection drops, the server catches each channel up the same way.

Each connection is handled by one coroutine that reads frames in order: oversized ones
close the connection with 1009 (``websockets`` enforces ``max_message_size``), malformed
ones get an ``error`` frame and the connection stays up.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import signal
import socket
import threading
import time
import typing as t

from websockets.asyncio.server import serve
from websockets.asyncio.server import Server
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.frames import Frame
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.http11 import Response
from websockets.protocol import OPEN

from .. import _fastpaths
from . import protocol
from .auth import Authenticator
from .auth import OriginPolicy
from .broker import Broker
from .broker import History
from .broker import seq_of
from .errors import BrokerError
from .errors import ProtocolError
from .keepalive import close_within
from .keepalive import Keepalive
from .presence import PresenceIdCallable
from .presence import PresenceTracker
from .revocation import CLOSE_REVOKED
from .revocation import CONTROL_CHANNEL
from .revocation import RESERVED_PREFIX
from .revocation import Revocation
from .revocation import session_is_revoked
from .revocation import USER_ID_KEY

logger = logging.getLogger("erlen.realtime.server")


class _ConnectionLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The logger handed to ``websockets``: its lines about one connection ("connection
    open", "connection closed", "connection rejected", every health check's "HTTP response
    sent") come at DEBUG instead of INFO, so a busy server's log isn't one line per
    handshake, and a client can't flood it. Warnings and errors keep their level."""

    def log(self, level: int, msg: object, *args: t.Any, **kwargs: t.Any) -> None:
        super().log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)


_connection_logger = _ConnectionLogger(logger, {})

Session = t.Mapping[str, t.Any]

#: ``authorize(session, channel)``: may this session subscribe to this channel?
AuthorizeCallable = t.Callable[[Session, str], "bool | t.Awaitable[bool]"]

#: ``on_publish(session, channel, event, data)``: the event to publish for a client's
#: ``publish`` frame (a dict such as ``{"event": event, "data": ...}``), or ``None`` to
#: refuse it.
PublishCallable = t.Callable[
    [Session, str, str, t.Any],
    "dict[str, t.Any] | None | t.Awaitable[dict[str, t.Any] | None]",
]


#: ``route(request) -> (status, content_type, body)``: a plain HTTP answer on the server's
#: port (see ``http_routes``).
HttpRoute = t.Callable[[Request], tuple[int, str, str]]


class RealtimeConnection(ServerConnection):
    """A websocket connection that knows its session and its subscriptions.

    Its own state lives in slots: with thousands of idle connections per process, every
    attribute added to the instance dict of ``ServerConnection`` costs memory.
    """

    __slots__ = ("session", "channels", "too_slow", "_tokens", "_tokens_at", "_flow", "_sock")

    #: Whether fan-out may write to this connection's socket directly (``direct_send`` in
    #: erlen._fastpaths); decided per class.
    _fast_direct_send: t.ClassVar[bool]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _fastpaths.decide(cls, RealtimeConnection)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: The session the handshake authenticated.
        self.session: Session = _NO_SESSION
        #: The channels this connection is subscribed to.
        self.channels: set[str] = set()
        #: Set once the connection fell too far behind and is being closed.
        self.too_slow = False
        self._tokens = 0.0
        self._tokens_at = 0.0
        # Set by the server: told when the socket's write buffer passes its high-water
        # mark and when it drains, so that only clients falling behind are ever checked.
        self._flow: set[RealtimeConnection] | None = None
        #: The socket fan-out writes to directly, once open (see :func:`_direct_socket`).
        self._sock: socket.socket | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._flow is not None:
            self._flow.add(self)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._flow is not None:
            self._flow.discard(self)


_fastpaths.decide(RealtimeConnection, RealtimeConnection)

_NO_SESSION: Session = {}


def _direct_socket(connection: RealtimeConnection) -> socket.socket | None:
    """The socket fan-out may write to itself: that of CPython's plain asyncio socket
    transport (whose unsent bytes wait in ``_buffer``), under websockets' protocol (whose
    state is ``_state``). Any other transport or protocol: ``None``, and ``write()``.

    Private attributes of both, read here only: ``tests/realtime`` runs the fan-out over
    this path and, with ``ERLEN_NO_FAST_PATHS=1``, over ``write()``.
    """
    if not connection._fast_direct_send:
        return None
    transport: t.Any = connection.transport
    sock = getattr(transport, "_sock", None)
    if (
        type(transport).__module__ != "asyncio.selector_events"
        or not isinstance(sock, socket.socket)
        or not hasattr(transport, "_buffer")
        or getattr(connection.protocol, "_state", None) is not OPEN
    ):
        return None
    return sock


class RealtimeServer:
    """A websocket server fanning broker events out to subscribed clients.

    :param broker: Where events come from (and where client ``publish`` frames go).
    :param auth: Authenticates handshakes, e.g. :class:`~erlen.realtime.auth.SessionCookieAuth`.
    :param allowed_origins: Origins (``scheme://host[:port]``) whose pages may connect.
    :param authorize: ``authorize(session, channel) -> bool`` (or an awaitable of it):
        decides each subscription. Required: there is no safe default.
    :param on_publish: ``on_publish(session, channel, event, data)`` returns the event to
        publish for a client's ``publish`` frame, or ``None`` to refuse. Without it,
        clients can't publish.
    :param path: The websocket's URL path; ``None`` accepts any path.
    :param allow_missing_origin: Accept handshakes without ``Origin`` (non-browser
        clients; browsers always send one).
    :param same_origin: Also accept pages of the origin the handshake was sent to (its
        ``Host``), whatever name the user reached it by; see
        :class:`~erlen.realtime.auth.OriginPolicy`.
    :param same_host_ports: Also accept pages from the handshake's host on these ports
        (the web port, when this server listens on another).
    :param max_message_size: Largest client message in bytes; larger ones close the
        connection with 1009.
    :param max_queue: Client frames buffered before reading from the socket pauses.
    :param write_limit: High-water mark of a socket's write buffer for frames sent with
        backpressure (replies to the client's own frames).
    :param max_send_buffer: Unsent bytes after which a client is considered too slow for
        fan-out and disconnected.
    :param max_subscriptions: Channels one connection may subscribe to.
    :param publish_rate: ``publish`` frames per second allowed per connection...
    :param publish_burst: ...with bursts of up to this many.
    :param ping_interval: Seconds between keepalive pings (``None``: none).
    :param ping_timeout: Seconds to wait for a pong before closing.
    :param open_timeout: Seconds allowed for the opening handshake.
    :param close_timeout: Seconds allowed for the closing handshake.
    :param presence_id: ``presence_id(session, channel)`` names the member a subscriber
        counts as on a channel, or returns ``None`` for no presence there. Without it,
        no presence is kept.
    :param presence_interval: Seconds between renewals of this replica's presence
        entries; a replica that stops renewing them (it crashed) loses them after three.
    :param http_routes: Plain HTTP answers on the server's port besides ``/healthz``, by
        exact path: ``route(request) -> (status, content_type, body)``, answered before
        the websocket handshake (e.g. ``/metrics`` from :meth:`stats`). Also
        :attr:`http_routes` after construction.
    """

    def __init__(
        self,
        *,
        broker: Broker,
        auth: Authenticator,
        allowed_origins: t.Iterable[str],
        authorize: AuthorizeCallable,
        on_publish: PublishCallable | None = None,
        path: str | None = "/ws",
        allow_missing_origin: bool = False,
        same_origin: bool = True,
        same_host_ports: t.Iterable[int] = (),
        max_message_size: int = protocol.DEFAULT_MAX_MESSAGE_SIZE,
        max_queue: int = 16,
        write_limit: int = 32 * 1024,
        max_send_buffer: int = 1024 * 1024,
        max_subscriptions: int = 64,
        publish_rate: float = 5.0,
        publish_burst: int = 10,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        open_timeout: float | None = 10,
        close_timeout: float | None = 5,
        presence_id: PresenceIdCallable | None = None,
        presence_interval: float = 5.0,
        http_routes: t.Mapping[str, HttpRoute] | None = None,
    ) -> None:
        self.broker = broker
        #: Plain HTTP answers by path (see the ``http_routes`` parameter).
        self.http_routes: dict[str, HttpRoute] = dict(http_routes or {})
        #: Event frames fan-out queued for subscribers since start, one per subscriber per
        #: event (see :meth:`stats`).
        self.delivered = 0
        self.auth = auth
        self.origins = OriginPolicy(
            allowed_origins,
            allow_missing=allow_missing_origin,
            same_origin=same_origin,
            same_host_ports=same_host_ports,
        )
        self.authorize = authorize
        self.on_publish = on_publish
        self.path = path
        self.max_message_size = max_message_size
        self.max_queue = max_queue
        self.write_limit = write_limit
        self.max_send_buffer = max_send_buffer
        self.max_subscriptions = max_subscriptions
        self.publish_rate = publish_rate
        self.publish_burst = publish_burst
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.presence_id = presence_id
        #: This replica's presence entries (``None`` without ``presence_id``).
        self.presence = PresenceTracker(broker, interval=presence_interval) if presence_id else None
        self._server: Server | None = None
        self._connections: set[RealtimeConnection] = set()
        self._keepalive = (
            Keepalive(ping_interval, ping_timeout, close_timeout)
            if ping_interval is not None
            else None
        )
        self._members: dict[str, set[RealtimeConnection]] = {}
        # (connection, channel) pairs counted in presence.
        self._counted: set[tuple[RealtimeConnection, str]] = set()
        # The same for every connection: serialized once, written as bytes.
        self._welcome = _text_frame(
            protocol.welcome_frame(max_message_size=max_message_size).encode()
        )
        self._background: set[asyncio.Task[t.Any]] = set()
        # Fan-out: frames waiting for the end of the loop pass, per channel, and the
        # connections whose write buffer passed its high-water mark.
        self._pending: dict[str, tuple[list[bytes], list[int | None]]] = {}
        self._flush_scheduled = False
        self._behind: set[RealtimeConnection] = set()
        # channel -> connection -> seq: a connection that just joined has every event up
        # to seq; live events at or below it may still be on their way from the broker
        # and are skipped for it, until the channel's events pass that seq.
        self._floors: dict[str, dict[RealtimeConnection, int]] = {}
        # channel -> the seq of the last event fanned out (or read from the broker) while
        # the channel had a listener here.
        self._known_seq: dict[str, int] = {}
        self._lookups: dict[str, asyncio.Future[History]] = {}
        # channel -> live (seq, frame)s held while it catches up after a reconnect, and
        # then the seq it caught up to.
        self._caught_up: dict[str, int] = {}
        self._holding: dict[str, list[tuple[int | None, bytes]]] = {}
        # channel -> connection -> live (seq, frame)s received while its history is read.
        self._captures: dict[str, dict[RealtimeConnection, list[tuple[int | None, bytes]]]] = {}

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start listening (port 0 picks a free one, see :attr:`port`); returns at once."""
        if self._server is not None:
            raise RuntimeError("The server is already running.")
        await self.broker.start()
        self.broker.add_resync_callback(self._on_resync)
        # Revoked logins arrive here, from whichever process revoked them; listening
        # before accepting sockets, so no logout after start-up goes unheard.
        self.broker.add_listener(CONTROL_CHANNEL, self._on_control)
        try:
            await self.broker.wait_ready(CONTROL_CHANNEL)
            self._server = await self._serve(host, port)
            if self._keepalive is not None:
                self._keepalive.start()
        except BaseException:
            self.broker.remove_listener(CONTROL_CHANNEL, self._on_control)
            self.broker.remove_resync_callback(self._on_resync)
            raise
        if self.presence is not None:
            self.presence.start()

    async def _serve(self, host: str, port: int) -> Server:
        return await serve(
            self._handle,
            host,
            port,
            compression=None,
            process_request=self._process_request,
            create_connection=RealtimeConnection,
            max_size=self.max_message_size,
            max_queue=self.max_queue,
            # A client is only checked against max_send_buffer once its buffer passes the
            # high-water mark, so the mark must not be above the limit.
            write_limit=min(self.write_limit, self.max_send_buffer),
            # Pings come from one Keepalive for all connections, not a task per connection.
            ping_interval=None,
            ping_timeout=None,
            open_timeout=self.open_timeout,
            close_timeout=self.close_timeout,
            server_header=None,
            logger=_connection_logger,
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("The server is not running.")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every connection (1001, going away), stop listening and wait for handlers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(code=CloseCode.GOING_AWAY, reason="server shutting down")
        try:
            # Closing waits for each client's unsent data to drain; a stuck client must not
            # hold up shutting down.
            async with asyncio.timeout((self.close_timeout or 5.0) + 1.0):
                await server.wait_closed()
        except TimeoutError:
            for connection in tuple(self._connections):
                connection.transport.abort()
            await server.wait_closed()
        if self._keepalive is not None:
            await self._keepalive.stop()
        if self.presence is not None:
            await self.presence.stop()  # after the closed connections' leaves
        self.broker.remove_listener(CONTROL_CHANNEL, self._on_control)
        self.broker.remove_resync_callback(self._on_resync)

    async def serve_forever(self, host: str = "0.0.0.0", port: int = 8001) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully and close the broker.

        This is the main of a realtime process (``python -m realtime``).
        """
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        signals = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stopping.set)
            except (RuntimeError, ValueError):  # not the main thread: the caller stops us
                continue
            signals.append(signum)
        try:
            await self.start(host, port)
            logger.info("Realtime server listening on %s:%d.", host, self.port)
            await stopping.wait()
            logger.info("Shutting down: closing %d connection(s).", len(self._connections))
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)
            await self.stop()
            await self.broker.aclose()

    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
        """Run the server on its own event loop in a daemon thread (embedded dev mode).

        Returns once it listens; call :meth:`ServerThread.stop` to shut it down. The
        broker's receiving side moves to that thread's loop (publishing works anywhere).
        """
        thread = ServerThread(self, host, port)
        thread.start()
        return thread

    def stats(self) -> dict[str, int]:
        """This server's counts, for metrics: open connections, channels with a
        subscriber here, subscriptions, and event frames delivered since start."""
        return {
            "connections": len(self._connections),
            "channels": len(self._members),
            "subscriptions": sum(len(m) for m in self._members.values()),
            "delivered": self.delivered,
        }

    def health(self) -> dict[str, t.Any]:
        """What ``GET /healthz`` reports."""
        return {
            "status": "ok",
            "connections": len(self._connections),
            "channels": len(self._members),
            "broker": self.broker.health(),
        }

    # -- handshake ----------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer health checks, and refuse bad handshakes before the upgrade."""
        path = request.path.partition("?")[0]
        if path == "/healthz":
            response = connection.respond(200, json.dumps(self.health()) + "\n")
            # websockets' Headers is a multidict: setting a header adds one.
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        route = self.http_routes.get(path)
        if route is not None:
            status, content_type, body = route(request)
            response = connection.respond(status, body)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = content_type
            return response
        if self.path is not None and path != self.path:
            return connection.respond(404, "Not found.\n")
        origins = request.headers.get_all("Origin")
        hosts = request.headers.get_all("Host")
        host = hosts[0] if len(hosts) == 1 else None
        if len(origins) > 1 or not self.origins(origins[0] if origins else None, host):
            return connection.respond(403, "Origin not allowed.\n")
        cookie_header = "; ".join(request.headers.get_all("Cookie")) or None
        try:
            session = self.auth.authenticate(cookie_header)
        except Exception:
            logger.exception("Authenticating a handshake failed.")
            session = None
        if session is None:
            return connection.respond(401, "Not authenticated.\n")
        assert isinstance(connection, RealtimeConnection)
        connection.session = session
        connection._flow = self._behind
        return None

    # -- connections --------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, RealtimeConnection)
        self._connections.add(connection)
        if self._keepalive is not None:
            self._keepalive.add(connection)
        # The handshake (request and response, with their headers: ~2.5 KiB) is not needed
        # any more; an idle connection would keep it for as long as the socket. The request
        # is also held by websockets' parser (a generator) for the connection's life, so
        # its headers are emptied in place.
        assert connection.request is not None
        connection.request.headers.clear()
        connection.response = None
        connection._sock = _direct_socket(connection)
        try:
            # Written like fan-out frames: no send() machinery for a fixed first frame.
            if connection.protocol.state is OPEN:
                connection.transport.write(self._welcome)
            while True:
                # recv() rather than `async for`: no async generator per connection.
                message = await connection.recv()
                reply = await self._reply(connection, message)
                if reply is None:
                    continue
                if (
                    connection.protocol.state is OPEN
                    and connection.transport.get_write_buffer_size() < self.write_limit
                ):
                    connection.transport.write(_text_frame(reply.encode()))
                else:
                    # Behind (or closing): send() waits for the buffer to drain, so a
                    # client that doesn't read its replies stops being read.
                    await connection.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(connection)
            if self._keepalive is not None:
                self._keepalive.remove(connection)
            self._behind.discard(connection)
            connection._flow = None
            for channel in tuple(connection.channels):
                self._leave(connection, channel)

    async def _reply(self, connection: RealtimeConnection, message: str | bytes) -> str | None:
        """Handle one client frame; return the frame to answer with, if any."""
        try:
            frame = protocol.parse_client_frame(message, max_size=self.max_message_size)
        except ProtocolError as e:
            return protocol.error_frame(e.message, code=e.code, channel=e.channel)
        if isinstance(frame, protocol.Ping):
            return protocol.pong_frame()
        if isinstance(frame, protocol.Subscribe):
            return await self._subscribe(connection, frame.channel, frame.since)
        if isinstance(frame, protocol.Unsubscribe):
            self._leave(connection, frame.channel)
            return protocol.unsubscribed_frame(frame.channel)
        return await self._publish(connection, frame)

    async def _subscribe(
        self, connection: RealtimeConnection, channel: str, since: int | None = None
    ) -> str:
        if channel in connection.channels:
            return protocol.subscribed_frame(channel)
        if channel.startswith(RESERVED_PREFIX):
            return protocol.error_frame(
                f"Not allowed to subscribe to {channel!r}.",
                code=protocol.FORBIDDEN,
                channel=channel,
            )
        if len(connection.channels) >= self.max_subscriptions:
            return protocol.error_frame(
                f"Too many subscriptions (the limit is {self.max_subscriptions}).",
                code=protocol.TOO_MANY_SUBSCRIPTIONS,
                channel=channel,
            )
        try:
            allowed = await _maybe_await(self.authorize(connection.session, channel))
        except Exception:
            logger.exception("authorize() failed for channel %r.", channel)
            return protocol.error_frame(
                "The subscription could not be checked.",
                code=protocol.SERVER_ERROR,
                channel=channel,
            )
        if not allowed:
            return protocol.error_frame(
                f"Not allowed to subscribe to {channel!r}.",
                code=protocol.FORBIDDEN,
                channel=channel,
            )
        # Register first, then wait: state stays consistent if the connection goes away
        # while the broker confirms. Until the history is read, live events of the
        # channel are captured for this connection rather than sent, so that replayed and
        # live events join without a gap or a duplicate.
        connection.channels.add(channel)
        self.broker.add_listener(channel, self._fan_out)
        captures = self._captures.setdefault(channel, {})
        captured: list[tuple[int | None, bytes]] = []
        captures[connection] = captured
        history: History | None = None
        try:
            await self.broker.wait_ready(channel)
            member = self._member(connection, channel)
            announced = False
            if member is not None and self.presence is not None and channel in connection.channels:
                # Before the history is read: the subscriber's own presence.join is then
                # part of what it already has, and only the others hear it.
                self._counted.add((connection, channel))
                announced = await self.presence.join(channel, member)
            known = self._known_seq.get(channel)
            if since is not None:
                history = await self.broker.history(channel, since)
            elif known is not None and not announced:
                # Everything after the last event fanned out here reaches the new member:
                # that is its starting point, no need to ask the broker.
                history = History(known, [])
            else:
                history = await self._latest(channel)
            if channel in connection.channels:
                self._known_seq[channel] = max(history.seq, self._known_seq.get(channel, 0))
        except BrokerError as e:
            logger.warning("Could not read the history of %r: %s", channel, e)
        finally:
            captures.pop(connection, None)
            if not captures and self._captures.get(channel) is captures:
                del self._captures[channel]
        if channel not in connection.channels:  # dropped (too slow) meanwhile
            return protocol.subscribed_frame(channel)
        frames: list[bytes] = []
        last = None
        if history is not None:
            last = history.seq
            if since is None:
                # A shared lookup may predate events fanned out before this connection
                # began capturing: start after those.
                last = max(last, self._known_seq.get(channel, 0))
            if since is not None and history.events is not None:
                frames.extend(
                    _text_frame(protocol.event_frame(channel, payload))
                    for payload in history.events
                )
        if since is not None and (history is None or history.events is None):
            frames.append(_text_frame(protocol.resync_frame(channel=channel).encode()))
        for seq, frame in captured:
            if seq is None or last is None or seq > last:
                frames.append(frame)
                if seq is not None:
                    last = seq
        if self._flush_scheduled:
            self._flush()  # queued frames are for the current members, without this one
        if frames and connection.protocol.state is OPEN:
            connection.transport.write(b"".join(frames))
        self._members.setdefault(channel, set()).add(connection)
        if last:
            self._floors.setdefault(channel, {})[connection] = last
        return protocol.subscribed_frame(channel, last)

    async def _latest(self, channel: str) -> History:
        """The channel's latest seq from the broker, one lookup per channel at a time.

        A connect storm subscribes hundreds of clients to the same few channels before
        any event flows: they share the lookup in flight.
        """
        lookup = self._lookups.get(channel)
        if lookup is None:
            lookup = asyncio.ensure_future(self.broker.history(channel))
            self._lookups[channel] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(channel, None))
        return await asyncio.shield(lookup)

    def _leave(self, connection: RealtimeConnection, channel: str) -> None:
        if channel not in connection.channels:
            return
        connection.channels.discard(channel)
        if self.presence is not None and (connection, channel) in self._counted:
            self._counted.discard((connection, channel))
            member = self._member(connection, channel)
            if member is not None:
                self.presence.leave(channel, member)
        floors = self._floors.get(channel)
        if floors is not None:
            floors.pop(connection, None)
            if not floors:
                del self._floors[channel]
        members = self._members.get(channel)
        if members is not None:
            members.discard(connection)
            if not members:
                del self._members[channel]
                if channel not in self._captures:
                    self._known_seq.pop(channel, None)  # the listener goes too
                    self._caught_up.pop(channel, None)
        self.broker.remove_listener(channel, self._fan_out)

    def _member(self, connection: RealtimeConnection, channel: str) -> str | None:
        if self.presence_id is None:
            return None
        try:
            return self.presence_id(connection.session, channel)
        except Exception:
            logger.exception("presence_id() failed for channel %r.", channel)
            return None

    async def _publish(self, connection: RealtimeConnection, frame: protocol.Publish) -> str | None:
        channel = frame.channel
        if self.on_publish is None:
            return protocol.error_frame(
                "Publishing is not enabled on this server.",
                code=protocol.FORBIDDEN,
                channel=channel,
            )
        if not self._take_token(connection):
            return protocol.error_frame(
                "Too many publish frames; slow down.", code=protocol.RATE_LIMITED, channel=channel
            )
        try:
            event = await _maybe_await(
                self.on_publish(connection.session, channel, frame.event, frame.data)
            )
        except Exception:
            logger.exception("on_publish() failed for channel %r.", channel)
            return protocol.error_frame(
                "The event could not be published.", code=protocol.SERVER_ERROR, channel=channel
            )
        if event is None:
            return protocol.error_frame(
                f"Not allowed to publish {frame.event!r} on {channel!r}.",
                code=protocol.FORBIDDEN,
                channel=channel,
            )
        try:
            await self.broker.apublish(channel, event)
        except BrokerError as e:
            logger.warning("Could not publish a client's event: %s", e)
            return protocol.error_frame(
                "The event could not be published.", code=protocol.UNAVAILABLE, channel=channel
            )
        return None

    def _take_token(self, connection: RealtimeConnection) -> bool:
        """Token bucket: ``publish_rate`` per second, bursts of ``publish_burst``."""
        now = time.monotonic()
        if connection._tokens_at == 0.0:
            connection._tokens = float(self.publish_burst)
        else:
            elapsed = now - connection._tokens_at
            connection._tokens = min(
                float(self.publish_burst), connection._tokens + elapsed * self.publish_rate
            )
        connection._tokens_at = now
        if connection._tokens < 1.0:
            return False
        connection._tokens -= 1.0
        return True

    # -- fan-out ------------------------------------------------------------------------

    def _fan_out(self, channel: str, payload: bytes) -> None:
        """Queue one broker event for the local subscribers of ``channel``.

        The websocket frame is built here, once per event. Writing waits for
        :meth:`_flush`, at the end of the current pass of the event loop: events the
        broker received together then go out to each subscriber in one write.
        """
        members = channel in self._members
        captures = self._captures.get(channel) if self._captures else None
        if not members and not captures and channel not in self._holding:
            return
        frame = _text_frame(protocol.event_frame(channel, payload))
        seq = seq_of(payload)
        if self._holding:
            held = self._holding.get(channel)
            if held is not None:  # catching up after a reconnect: these go after
                held.append((seq, frame))
                return
        if self._caught_up:
            floor = self._caught_up.get(channel)
            if floor is not None:
                if seq is not None and seq <= floor:
                    return  # replayed already by the catch-up
                del self._caught_up[channel]
        if seq is not None:
            self._known_seq[channel] = seq
        if captures:
            for captured in captures.values():
                captured.append((seq, frame))
        if not members:
            return
        pending = self._pending.get(channel)
        if pending is None:
            self._pending[channel] = ([frame], [seq])
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
        else:
            pending[0].append(frame)
            pending[1].append(seq)

    def _flush(self) -> None:
        """Write the queued frames of each channel to its subscribers' sockets.

        This is the hot loop of fan-out: per subscriber, one state check and one write
        of ready bytes (the frame is the same for everyone since compression is off).
        Flow control is left out of it: a socket whose buffer passes the high-water
        mark reports itself (:meth:`RealtimeConnection.pause_writing`) and is checked
        against ``max_send_buffer`` after the loop.
        """
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for channel, (frames, seqs) in pending.items():
            members = self._members.get(channel)
            if not members:
                continue
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            self.delivered += len(frames) * len(members)
            floors = self._floors.get(channel)
            if floors:
                self._flush_joining(channel, members, floors, data, frames, seqs)
                continue
            size = len(data)
            for connection in members:
                sock = connection._sock
                if sock is None:
                    if connection.protocol.state is OPEN:
                        connection.transport.write(data)
                    continue
                # The direct path (_direct_socket): what transport.write() would do while
                # nothing is buffered, without its Python frame per subscriber.
                if connection.protocol._state is not OPEN:
                    continue
                transport: t.Any = connection.transport
                if transport._buffer:  # behind: the rest must queue after what waits
                    transport.write(data)
                    continue
                try:
                    sent = sock.send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    transport.write(data)  # it reports the error and closes, as before
                    continue
                if sent != size:
                    transport.write(data[sent:])
        if self._behind:
            self._check_behind()

    def _flush_joining(
        self,
        channel: str,
        members: set[RealtimeConnection],
        floors: dict[RealtimeConnection, int],
        data: bytes,
        frames: list[bytes],
        seqs: list[int | None],
    ) -> None:
        """:meth:`_flush` for a channel some members joined with a replay just now."""
        newest = max((seq for seq in seqs if seq is not None), default=None)
        for connection in members:
            if connection.protocol.state is not OPEN:
                continue
            floor = floors.get(connection)
            if floor is None:
                connection.transport.write(data)
                continue
            fresh = [f for f, seq in zip(frames, seqs, strict=True) if seq is None or seq > floor]
            if fresh:
                connection.transport.write(b"".join(fresh))
            if newest is not None and newest >= floor:
                del floors[connection]  # the broker's stream has caught up with it
        if not floors:
            del self._floors[channel]

    def _check_behind(self) -> None:
        """Disconnect the clients that fell more than ``max_send_buffer`` behind."""
        limit = self.max_send_buffer
        for connection in tuple(self._behind):
            if connection.protocol.state is not OPEN:
                self._behind.discard(connection)
            elif connection.transport.get_write_buffer_size() > limit:
                self._behind.discard(connection)
                self._drop_slow(connection)

    def _drop_slow(self, connection: RealtimeConnection) -> None:
        """Disconnect a client that can't keep up instead of buffering for it."""
        if connection.too_slow:
            return
        connection.too_slow = True
        logger.debug("Disconnecting a client that is too slow to keep up.")
        for channel in tuple(connection.channels):
            self._leave(connection, channel)
        task = asyncio.get_running_loop().create_task(self._close_slow(connection))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_slow(self, connection: RealtimeConnection) -> None:
        # The close frame queues behind the backlog: bounded, or aborted.
        await close_within(
            connection, self.close_timeout, CloseCode.TRY_AGAIN_LATER, "client too slow"
        )

    # -- revocations --------------------------------------------------------------------

    def _on_control(self, channel: str, payload: bytes) -> None:
        """Close the connections whose login a control event revoked (see revocation.py)."""
        try:
            revocation = Revocation(payload)
        except ValueError:
            logger.warning("Ignoring an unknown event on %s.", CONTROL_CHANNEL)
            return
        self._close_revoked([c for c in self._connections if revocation.matches(c.session)])

    def _close_revoked(self, connections: list[RealtimeConnection]) -> None:
        if connections:
            logger.info("Closing %d connection(s) of a revoked login.", len(connections))
        for connection in connections:
            for subscribed in tuple(connection.channels):
                self._leave(connection, subscribed)  # nothing more reaches it from now
            task = asyncio.get_running_loop().create_task(
                connection.close(CLOSE_REVOKED, "session revoked")
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _recheck_logins(self) -> None:
        """After the broker connection dropped, control events may have been missed:
        check every logged-in connection against the revocation store once."""
        store = getattr(self.auth, "revocations", None)
        logged_in = [c for c in self._connections if USER_ID_KEY in c.session]
        if store is None or not logged_in:
            return

        def revoked() -> list[RealtimeConnection]:  # blocking lookups: off the loop
            return [c for c in logged_in if session_is_revoked(c.session, store)]

        try:
            found = await asyncio.to_thread(revoked)
        except Exception as e:
            logger.warning("Could not recheck logins after a reconnect: %s", e)
            return
        self._close_revoked([c for c in found if c in self._connections])

    def _on_resync(self) -> None:
        """The broker's connection was lost for a moment: catch every channel up.

        Each channel whose last seq is known here replays what it missed from the
        broker's window, in order, ahead of the live events held meanwhile. Clients of
        the channels that can't be caught up get a ``resync`` frame for that channel.
        """
        if self._flush_scheduled:
            self._flush()  # events received before the loss go out first
        recheck = asyncio.get_running_loop().create_task(self._recheck_logins())
        self._background.add(recheck)
        recheck.add_done_callback(self._background.discard)
        known, self._known_seq = self._known_seq, {}
        for channel in set(self._members) | set(self._captures):
            since = known.get(channel)
            if since is None or channel in self._captures or channel in self._holding:
                # Subscribing right now, or no position to resume from: refetch.
                frame = _text_frame(protocol.resync_frame(channel=channel).encode())
                for connection in (
                    *self._members.get(channel, ()),
                    *self._captures.get(channel, ()),
                ):
                    if connection.protocol.state is OPEN:
                        connection.transport.write(frame)
                continue
            self._holding[channel] = []
            task = asyncio.get_running_loop().create_task(self._catch_up(channel, since))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _catch_up(self, channel: str, since: int) -> None:
        """Replay ``channel``'s events after ``since`` to its members, then the held ones."""
        history: History | None = None
        try:
            history = await self.broker.history(channel, since)
        except BrokerError as e:
            logger.warning("Could not catch %r up after a reconnect: %s", channel, e)
        finally:
            held = self._holding.pop(channel, [])
        frames: list[bytes] = []
        seqs: list[int | None] = []
        last = since
        if history is None or history.events is None:
            logger.info("Asking the clients of %r to resync.", channel)
            frames.append(_text_frame(protocol.resync_frame(channel=channel).encode()))
            seqs.append(None)
        else:
            for payload in history.events:
                frames.append(_text_frame(protocol.event_frame(channel, payload)))
                seqs.append(seq_of(payload))
            last = history.seq
        for seq, frame in held:
            if seq is None or seq > last:
                frames.append(frame)
                seqs.append(seq)
        newest = max((seq for seq in seqs if seq is not None), default=last)
        if channel in self._members:
            self._known_seq[channel] = max(newest, self._known_seq.get(channel, 0))
            # Events up to here may still be on their way from the broker: skip them.
            self._caught_up[channel] = newest
        if frames and channel in self._members:
            if self._flush_scheduled:
                self._flush()
            self._pending[channel] = (frames, seqs)
            self._flush()


def _text_frame(data: bytes) -> bytes:
    """The bytes of an unmasked, unfragmented text frame: what a server writes.

    Built with websockets' own serializer. No extension can apply: permessage-deflate,
    the only one, is off.
    """
    return Frame(Opcode.TEXT, data).serialize(mask=False)


async def _maybe_await(value: t.Any) -> t.Any:
    if inspect.isawaitable(value):
        return await value
    return value


class ServerThread:
    """A :class:`RealtimeServer` running on its own event loop in a daemon thread."""

    def __init__(self, server: RealtimeServer, host: str, port: int) -> None:
        self.server = server
        self.host = host
        self._requested_port = port
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="erlen-realtime", daemon=True)

    @property
    def url(self) -> str:
        """The websocket URL of the server (``ws://host:port/path``)."""
        return f"ws://{self.host}:{self.port}{self.server.path or '/'}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until the server listens (or failed to)."""
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("The realtime server did not start in time.")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down gracefully and wait for the thread to end."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop ended on its own
                pass
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the server's thread is still running."""
        return self._thread.is_alive()

    def _main(self) -> None:
        asyncio.run(self._amain())

    async def _amain(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self.server.start(self.host, self._requested_port)
            self.port = self.server.port
        except BaseException as e:
            self._error = e
            await self.server.broker.disconnect()
            self._started.set()
            return
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            await self.server.stop()
            # Release the broker's connections on this loop; publishing keeps working.
            await self.server.broker.disconnect()
