"""The websocket server, driven by real websocket clients on 127.0.0.1.

Tests taking ``run`` run once with each broker (memory and Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import typing as t
import urllib.error
import urllib.request

import pytest
import redis
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

import erlen
from erlen import _fastpaths
from erlen.pytest_tiers import service_port
from erlen.realtime import CONTROL_CHANNEL
from erlen.realtime import MemoryBroker
from erlen.realtime import RealtimeServer
from erlen.realtime import RedisBroker
from erlen.realtime import server as server_module
from erlen.realtime import SessionCookieAuth
from erlen.realtime.broker import Broker

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]

SECRET = "test secret key"
ORIGIN = Origin("http://localhost:5000")


def cookie_for(**data: t.Any) -> str:
    """A session cookie exactly as web signs it."""
    app = erlen.Erlen("realtime_test")
    app.secret_key = SECRET
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return serializer.dumps(data)  # type: ignore[no-any-return]


def authorize(session: t.Mapping[str, t.Any], channel: str) -> bool:
    """Public channels for everyone; ``private:<id>`` only for that user."""
    if channel.startswith("private:"):
        return channel == f"private:{session['user_id']}"
    return True


def make_server(broker: Broker, **options: t.Any) -> RealtimeServer:
    settings: dict[str, t.Any] = {
        "broker": broker,
        "auth": SessionCookieAuth(SECRET),
        "allowed_origins": [ORIGIN],
        "authorize": authorize,
        "close_timeout": 1,
    }
    settings.update(options)
    return RealtimeServer(**settings)


@contextlib.asynccontextmanager
async def running(server: RealtimeServer) -> t.AsyncIterator[RealtimeServer]:
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def client(
    server: RealtimeServer,
    *,
    user_id: int = 1,
    origin: Origin | None = ORIGIN,
    **options: t.Any,
) -> t.AsyncIterator[ClientConnection]:
    headers = {"Cookie": f"session={cookie_for(user_id=user_id)}"}
    async with connect(
        f"ws://127.0.0.1:{server.port}/ws",
        origin=origin,
        additional_headers=headers,
        **options,
    ) as ws:
        assert (await recv(ws))["type"] == "welcome"
        yield ws


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, t.Any]:
    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert isinstance(frame, dict)
    return frame


async def send(ws: ClientConnection, **frame: t.Any) -> None:
    await ws.send(json.dumps(frame))


async def subscribe(ws: ClientConnection, channel: str) -> None:
    await send(ws, type="subscribe", channel=channel)
    frame = await recv(ws)
    assert (frame["type"], frame["channel"]) == ("subscribed", channel)


async def silent(ws: ClientConnection, wait: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), wait)
    except TimeoutError:
        return True
    return False


async def handshake_status(server: RealtimeServer, path: str = "/ws", **headers: str) -> int:
    origin = headers.pop("origin", None)
    try:
        async with connect(
            f"ws://127.0.0.1:{server.port}{path}",
            origin=None if origin is None else Origin(origin),
            additional_headers=headers,
        ):
            return 101
    except InvalidStatus as e:
        return e.response.status_code


async def until(condition: t.Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_healthz_answers_over_plain_http_with_broker_state(
    make_broker: BrokerFactory, run: Runner
) -> None:
    server = make_server(make_broker())

    async def main() -> tuple[int, str, dict[str, t.Any]]:
        async with running(server):
            await until(lambda: server.broker.state == "connected")
            url = f"http://127.0.0.1:{server.port}/healthz"
            response = await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
            with response:
                return response.status, response.headers["Content-Type"], json.load(response)

    status, content_type, body = run(main())
    assert status == 200
    assert content_type == "application/json"
    assert body["status"] == "ok"
    assert body["broker"]["state"] == "connected"
    assert body["connections"] == 0


def test_http_routes_answer_plain_http_and_stats_count_the_fan_out(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)
    seen: list[str] = []

    def stats_route(request: t.Any) -> tuple[int, str, str]:
        seen.append(request.path)
        return 200, "text/plain; version=0.0.4", json.dumps(server.stats())

    server.http_routes["/stats"] = stats_route

    async def main() -> dict[str, t.Any]:
        async with running(server), client(server) as one, client(server) as two:
            for ws in (one, two):
                await subscribe(ws, "board")
            await asyncio.to_thread(broker.publish, "board", {"event": "e", "data": 1})
            for ws in (one, two):
                assert (await recv(ws))["data"] == 1
            url = f"http://127.0.0.1:{server.port}/stats?x=1"
            response = await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
            with response:
                assert response.headers["Content-Type"] == "text/plain; version=0.0.4"
                return json.load(response)  # type: ignore[no-any-return]

    stats = run(main())
    assert seen == ["/stats?x=1"]
    assert stats == {"connections": 2, "channels": 1, "subscriptions": 2, "delivered": 2}


def test_handshake_is_refused_before_upgrade_without_valid_session_or_origin(
    make_broker: BrokerFactory, run: Runner
) -> None:
    server = make_server(make_broker())
    good = f"session={cookie_for(user_id=1)}"
    forged = f"session={cookie_for(user_id=1)}".replace(".", "x", 1)
    other_key = SessionCookieAuth("other key")

    async def main() -> dict[str, int]:
        async with running(server):
            statuses = {
                "ok": await handshake_status(server, origin=ORIGIN, Cookie=good),
                "no cookie": await handshake_status(server, origin=ORIGIN),
                "forged cookie": await handshake_status(server, origin=ORIGIN, Cookie=forged),
                "bad origin": await handshake_status(
                    server, origin="http://evil.test", Cookie=good
                ),
                "no origin": await handshake_status(server, Cookie=good),
                "wrong path": await handshake_status(server, "/other", origin=ORIGIN, Cookie=good),
            }
            server.auth = other_key
            statuses["other key"] = await handshake_status(server, origin=ORIGIN, Cookie=good)
            return statuses

    assert run(main()) == {
        "ok": 101,
        "no cookie": 401,
        "forged cookie": 401,
        "bad origin": 403,
        "no origin": 403,
        "wrong path": 404,
        "other key": 401,
    }


def test_handshakes_are_logged_at_debug_and_errors_keep_their_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = make_server(MemoryBroker(prefix="test"))
    good = f"session={cookie_for(user_id=1)}"

    async def main() -> None:
        async with running(server):
            assert await handshake_status(server, origin=ORIGIN, Cookie=good) == 101
            assert await handshake_status(server, origin="http://evil.test", Cookie=good) == 403

    with caplog.at_level(logging.DEBUG, logger="erlen.realtime.server"):
        asyncio.run(main())
    connection_lines = [
        r
        for r in caplog.records
        if r.name == "erlen.realtime.server"
        and r.getMessage().startswith(("connection ", "HTTP response sent"))
    ]
    messages = {r.getMessage() for r in connection_lines}
    assert {"connection open", "connection closed", "HTTP response sent (403 Forbidden)"} <= (
        messages
    )
    assert {r.levelno for r in connection_lines} == {logging.DEBUG}
    assert not [r for r in caplog.records if r.levelno == logging.INFO]
    # An error from the library keeps its level.
    with caplog.at_level(logging.DEBUG, logger="erlen.realtime.server"):
        caplog.clear()
        server_module._connection_logger.error("handler failed")
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_subscribed_client_receives_events_published_from_another_thread(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server) as ws:
            await subscribe(ws, "board")
            event = {"event": "message.posted", "data": {"id": 7, "body": "hi"}, "id": 7}
            await asyncio.to_thread(broker.publish, "board", event)
            assert await recv(ws) == {"type": "event", "channel": "board", "seq": 1, **event}

    run(main())


def test_an_open_connection_keeps_nothing_of_its_handshake(
    make_broker: BrokerFactory, run: Runner
) -> None:
    # Idle connections are the common case: the handshake's headers (the cookie among
    # them, ~2.5 KiB) are dropped once it is accepted; the connection works on.
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server) as ws:
            (connection,) = server._connections
            assert connection.request is not None and len(connection.request.headers) == 0
            assert connection.response is None
            # Fan-out writes to its socket directly, unless the fast paths are off.
            assert (connection._sock is not None) is _fastpaths.ENABLED
            await subscribe(ws, "board")
            await asyncio.to_thread(broker.publish, "board", {"event": "e", "data": 1})
            assert (await recv(ws))["data"] == 1

    run(main())


def test_events_go_only_to_subscribers_of_their_channel(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server) as one, client(server) as two:
            await subscribe(one, "room:1")
            await subscribe(two, "room:2")
            broker.publish("room:1", {"event": "x", "n": 1})
            assert (await recv(one))["n"] == 1
            assert await silent(two)

    run(main())


def test_unsubscribed_client_stops_receiving(make_broker: BrokerFactory, run: Runner) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server) as ws:
            await subscribe(ws, "board")
            await send(ws, type="unsubscribe", channel="board")
            assert await recv(ws) == {"type": "unsubscribed", "channel": "board"}
            broker.publish("board", {"n": 1})
            assert await silent(ws)
            assert broker.channels == {CONTROL_CHANNEL}  # the server's own, only

    run(main())


def test_forbidden_channel_gets_an_error_frame_and_the_connection_stays(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server, user_id=1) as ws:
            await send(ws, type="subscribe", channel="private:2")
            assert await recv(ws) == {
                "type": "error",
                "code": "forbidden",
                "message": "Not allowed to subscribe to 'private:2'.",
                "channel": "private:2",
            }
            broker.publish("private:2", {"secret": True})
            await subscribe(ws, "private:1")
            broker.publish("private:1", {"mine": True})
            assert (await recv(ws))["mine"] is True

    run(main())


def test_authorize_may_be_a_coroutine_function(make_broker: BrokerFactory, run: Runner) -> None:
    async def deny_all(session: t.Mapping[str, t.Any], channel: str) -> bool:
        await asyncio.sleep(0)
        return False

    server = make_server(make_broker(), authorize=deny_all)

    async def main() -> None:
        async with running(server), client(server) as ws:
            await send(ws, type="subscribe", channel="board")
            assert (await recv(ws))["code"] == "forbidden"

    run(main())


def test_malformed_frames_get_error_frames_without_disconnecting(
    make_broker: BrokerFactory, run: Runner
) -> None:
    server = make_server(make_broker())
    bad = ["nope", "[]", '{"type":"shout"}', '{"type":"subscribe","channel":"a b"}', "{"] * 10
    # A lone surrogate as the channel: the error frame naming it must still be sendable.
    bad.append('{"type":"subscribe","channel":"\\udfff"}')
    bad.append("[" * 30_000)  # deep enough to exhaust a naive parser's stack

    async def main() -> list[str]:
        async with running(server), client(server) as ws:
            for frame in bad:
                await ws.send(frame)
            codes = [(await recv(ws))["code"] for _ in bad]
            await send(ws, type="ping")
            assert await recv(ws) == {"type": "pong"}
            return codes

    codes = run(main())
    assert codes[:5] == ["bad_json", "bad_frame", "unknown_type", "bad_channel", "bad_json"]
    assert codes[-2:] == ["bad_channel", "bad_json"]
    assert len(codes) == 52


def test_oversize_message_closes_with_1009(make_broker: BrokerFactory, run: Runner) -> None:
    server = make_server(make_broker(), max_message_size=1024)

    async def main() -> int | None:
        async with running(server), client(server) as ws:
            await send(ws, type="ping", pad="x" * 2000)
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws)
            return info.value.rcvd.code if info.value.rcvd else None

    assert run(main()) == 1009


def test_subscriptions_per_connection_are_bounded(make_broker: BrokerFactory, run: Runner) -> None:
    server = make_server(make_broker(), max_subscriptions=2)

    async def main() -> None:
        async with running(server), client(server) as ws:
            await subscribe(ws, "a")
            await subscribe(ws, "b")
            await subscribe(ws, "b")  # already subscribed: fine
            await send(ws, type="subscribe", channel="c")
            assert (await recv(ws))["code"] == "too_many_subscriptions"

    run(main())


def test_two_servers_sharing_a_prefix_both_deliver_one_publish(
    make_broker: BrokerFactory, run: Runner
) -> None:
    # Two replicas (each with its own broker, as separate processes would be) and a
    # publisher that is neither: one publish reaches clients on both.
    publisher = make_broker()
    first = make_server(make_broker())
    second = make_server(make_broker())

    async def main() -> None:
        async with running(first), running(second):
            async with client(first) as one, client(second) as two:
                await subscribe(one, "board")
                await subscribe(two, "board")
                publisher.publish("board", {"event": "message.posted", "id": 1})
                assert (await recv(one))["id"] == 1
                assert (await recv(two))["id"] == 1
                assert await silent(one) and await silent(two)

    run(main())


def test_closed_connections_release_their_subscriptions(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server):
            async with client(server) as ws:
                await subscribe(ws, "board")
                await subscribe(ws, "room:1")
                assert server.health()["connections"] == 1
            await until(lambda: server.health()["connections"] == 0)
            assert server.health()["channels"] == 0
            assert broker.channels == {CONTROL_CHANNEL}  # the server's own, only

    run(main())


def test_slow_client_is_disconnected_instead_of_buffered(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker, max_send_buffer=64 * 1024)
    blob = "x" * 32_000

    async def main() -> None:
        async with running(server):
            # A small, fixed receive buffer: the kernel would otherwise absorb megabytes.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
            async with client(server) as fast, client(server, max_queue=1, sock=sock) as slow:
                await subscribe(fast, "board")
                await subscribe(slow, "board")
                published = 0
                # ``slow`` never reads: its buffers fill up, then the server's. ``fast`` keeps
                # up, with the publisher paced to it.
                while server.health()["connections"] == 2:
                    assert published < 1000, "the slow client was never disconnected"
                    for n in range(published, published + 10):
                        await asyncio.to_thread(broker.publish, "board", {"n": n, "blob": blob})
                    for n in range(published, published + 10):
                        assert (await recv(fast))["n"] == n
                    published += 10
                    await asyncio.sleep(0.05)
                # Well below what was sent: the server did not buffer it all for ``slow``.
                assert published * len(blob) > 4 * 64 * 1024
                with pytest.raises(ConnectionClosed) as info:
                    while True:
                        await recv(slow)
                assert info.value.rcvd is None or info.value.rcvd.code == 1013
                # The fast client is unaffected.
                broker.publish("board", {"n": "last"})
                assert (await recv(fast))["n"] == "last"

    run(main(), timeout=60)


def test_clients_publish_only_what_on_publish_allows(
    make_broker: BrokerFactory, run: Runner
) -> None:
    def on_publish(
        session: t.Mapping[str, t.Any], channel: str, event: str, data: t.Any
    ) -> dict[str, t.Any] | None:
        if event != "typing":
            return None
        return {"event": "typing", "data": {"user": session["user_id"]}}

    server = make_server(make_broker(), on_publish=on_publish, publish_burst=2, publish_rate=0.1)

    async def main() -> None:
        async with running(server), client(server, user_id=5) as ws, client(server) as other:
            await subscribe(other, "board")
            await send(ws, type="publish", channel="board", event="typing", data={"forged": 1})
            assert await recv(other) == {
                "type": "event",
                "channel": "board",
                "seq": 1,
                "event": "typing",
                "data": {"user": 5},
            }
            await send(ws, type="publish", channel="board", event="message.posted")
            assert (await recv(ws))["code"] == "forbidden"
            await send(ws, type="publish", channel="board", event="typing")
            assert (await recv(ws))["code"] == "rate_limited"

    run(main())


def test_publishing_is_refused_without_on_publish(make_broker: BrokerFactory, run: Runner) -> None:
    server = make_server(make_broker())

    async def main() -> None:
        async with running(server), client(server) as ws:
            await send(ws, type="publish", channel="board", event="typing")
            assert (await recv(ws))["code"] == "forbidden"

    run(main())


def kill_pubsub_connection(admin: redis.Redis, prefix: str) -> None:
    for info in admin.client_list():
        if info.get("name") == f"{prefix}:realtime":
            admin.client_kill_filter(_id=info["id"])


def test_events_published_while_the_server_was_cut_from_redis_are_caught_up(
    prefix: str, redis_url: str
) -> None:
    broker = RedisBroker(redis_url, prefix=prefix)
    server = make_server(broker)

    async def main() -> None:
        admin = redis.Redis.from_url(redis_url)
        try:
            async with running(server), client(server) as subscribed, client(server) as idle:
                await subscribe(subscribed, "board")
                broker.publish("board", {"n": 0})
                assert (await recv(subscribed))["n"] == 0
                kill_pubsub_connection(admin, prefix)
                # Published while the server has no subscription: only the window has it.
                broker.publish("board", {"n": 1})
                frame = await recv(subscribed, timeout=10)
                assert (frame["type"], frame["seq"], frame["n"]) == ("event", 2, 1)
                # And the subscription was renewed.
                broker.publish("board", {"n": 2})
                frame = await recv(subscribed)
                assert (frame["seq"], frame["n"]) == (3, 2)
                assert await silent(subscribed)
                assert await silent(idle)
        finally:
            admin.close()
            await broker.aclose()

    asyncio.run(main())


def test_resync_frame_goes_to_subscribed_clients_when_events_were_lost(
    prefix: str, redis_url: str
) -> None:
    broker = RedisBroker(redis_url, prefix=prefix, replay_size=0)
    server = make_server(broker)

    async def main() -> None:
        admin = redis.Redis.from_url(redis_url)
        try:
            async with running(server), client(server) as subscribed, client(server) as idle:
                await subscribe(subscribed, "board")
                kill_pubsub_connection(admin, prefix)
                broker.publish("board", {"n": 1})  # lost: no window to replay it from
                frame = await recv(subscribed, timeout=10)
                assert (frame["type"], frame["channel"]) == ("resync", "board")
                assert await silent(idle)
                # And the subscription was renewed.
                broker.publish("board", {"n": 2})
                frame = await recv(subscribed)
                assert (frame["seq"], frame["n"]) == (2, 2)
        finally:
            admin.close()
            await broker.aclose()

    asyncio.run(main())


def test_reconnect_that_lost_nothing_is_invisible_to_clients(prefix: str) -> None:
    broker = MemoryBroker(prefix=prefix)
    server = make_server(broker)

    async def main() -> None:
        async with running(server), client(server) as ws:
            await subscribe(ws, "board")
            broker.publish("board", {"n": 0})
            assert (await recv(ws))["seq"] == 1
            broker.simulate_reconnect()
            broker.publish("board", {"n": 1})
            frame = await recv(ws)
            assert (frame["type"], frame["seq"]) == ("event", 2)
            assert await silent(ws)
        await broker.aclose()

    asyncio.run(main())


def test_run_in_thread_serves_until_stopped(prefix: str) -> None:
    # Embedded dev mode: the server has its own loop thread, web threads publish.
    broker = MemoryBroker(prefix=prefix)
    server = make_server(broker)
    handle = server.run_in_thread()

    async def main() -> int | None:
        async with connect(
            handle.url,
            origin=ORIGIN,
            additional_headers={"Cookie": f"session={cookie_for(user_id=1)}"},
        ) as ws:
            assert (await recv(ws))["type"] == "welcome"
            await subscribe(ws, "board")
            broker.publish("board", {"n": 1})
            assert (await recv(ws))["n"] == 1
            await asyncio.to_thread(handle.stop)
            with pytest.raises(ConnectionClosed) as info:
                await recv(ws)
            return info.value.rcvd.code if info.value.rcvd else None

    try:
        assert asyncio.run(main()) == 1001
        assert not handle.is_alive()
        assert broker.state == "connected"  # publishing still works after the server stopped
        broker.publish("board", {"n": 2})
    finally:
        handle.stop()
        broker.close()


SERVE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from erlen.realtime import MemoryBroker, RealtimeServer, SessionCookieAuth
    server = RealtimeServer(
        broker=MemoryBroker(prefix="p"),
        auth=SessionCookieAuth(sys.argv[2]),
        allowed_origins=[sys.argv[3]],
        authorize=lambda session, channel: True,
    )
    asyncio.run(server.serve_forever("127.0.0.1", int(sys.argv[1])))
    """
)


def test_serve_forever_shuts_down_gracefully_on_sigterm() -> None:
    port = service_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(port), SECRET, ORIGIN],
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:

        async def main() -> int | None:
            for _ in range(200):
                try:
                    await asyncio.to_thread(
                        urllib.request.urlopen, f"http://127.0.0.1:{port}/healthz", timeout=1
                    )
                    break
                except (urllib.error.URLError, ConnectionError):
                    await asyncio.sleep(0.05)
            async with connect(
                f"ws://127.0.0.1:{port}/ws",
                origin=ORIGIN,
                additional_headers={"Cookie": f"session={cookie_for(user_id=1)}"},
            ) as ws:
                assert (await recv(ws))["type"] == "welcome"
                process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as info:
                    await recv(ws, timeout=10)
                return info.value.rcvd.code if info.value.rcvd else None

        assert asyncio.run(main()) == 1001
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
