"""Presence: who is on a channel, across replicas, with entries that expire.

Broker-level tests run on both brokers; the server tests drive real websockets, and the
crash test kills a realtime process with SIGKILL (Redis only: it crosses processes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import typing as t

import pytest
from test_server import client
from test_server import cookie_for
from test_server import make_server
from test_server import ORIGIN
from test_server import recv
from test_server import running
from test_server import SECRET
from test_server import send
from test_server import until
from websockets.asyncio.client import connect

import erlen
from erlen.ext.realtime import Publisher
from erlen.realtime import RedisBroker
from erlen.realtime.broker import Broker

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]


def test_members_join_and_leave_across_replicas_with_events(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("room") as events:
            await broker.presence_join("room", "ada", replica="r1", ttl=30)
            await broker.presence_join("room", "ada", replica="r2", ttl=30)
            await broker.presence_join("room", "bob", replica="r2", ttl=30)
            assert broker.presence("room") == ["ada", "bob"]
            assert await broker.apresence("room") == ["ada", "bob"]
            assert broker.presence("elsewhere") == []
            # ada is still connected through r2.
            await broker.presence_leave("room", "ada", replica="r1", ttl=30)
            assert broker.presence("room") == ["ada", "bob"]
            await broker.presence_leave("room", "ada", replica="r2", ttl=30)
            assert broker.presence("room") == ["bob"]
            got = [(await events.get(timeout=5))[1] for _ in range(3)]
            assert [(e["event"], e["data"]["member"]) for e in got] == [
                ("presence.join", "ada"),
                ("presence.join", "bob"),
                ("presence.leave", "ada"),
            ]

    run(main())


def test_entries_of_a_replica_that_stopped_renewing_expire_with_a_leave_event(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("room") as events:
            await broker.presence_join("room", "ghost", replica="dead", ttl=0.3)
            await broker.presence_join("room", "ada", replica="alive", ttl=0.3)
            await await_events(events, 2)  # the joins
            for _ in range(6):
                await asyncio.sleep(0.1)
                await broker.presence_refresh({"room": ["ada"]}, replica="alive", ttl=0.3)
            assert broker.presence("room") == ["ada"]
            (leave,) = await await_events(events, 1)
            assert (leave["event"], leave["data"]["member"]) == ("presence.leave", "ghost")

    run(main())


async def await_events(events: t.Any, n: int) -> list[dict[str, t.Any]]:
    return [(await events.get(timeout=5))[1] for _ in range(n)]


def test_members_must_be_short_strings_without_newlines(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        for member in ("", "a\nb", "x" * 201, 5):
            with pytest.raises(ValueError, match="Invalid presence member"):
                await broker.presence_join("room", member, replica="r", ttl=1)  # type: ignore[arg-type]

    run(main())


def presence_id(session: t.Mapping[str, t.Any], channel: str) -> str | None:
    return f"user:{session['user_id']}" if channel.startswith("room") else None


def test_server_tracks_its_connections_and_the_web_side_can_ask(
    broker_url: str, prefix: str, make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker, presence_id=presence_id, presence_interval=0.2)
    app = erlen.Erlen(__name__)
    app.config.update(REDIS_URL=broker_url, KEY_PREFIX=prefix)
    publisher = Publisher(app)

    async def main() -> None:
        async with running(server):
            async with client(server, user_id=1) as one, client(server, user_id=2) as two:
                for ws in (one, two):
                    await send(ws, type="subscribe", channel="room:1")
                    assert (await recv(ws))["type"] == "subscribed"
                # The others hear of a newcomer; the newcomer doesn't hear of itself.
                frame = await recv(one)
                assert (frame["event"], frame["data"]) == ("presence.join", {"member": "user:2"})
                await send(one, type="subscribe", channel="board")  # no presence there
                assert (await recv(one))["type"] == "subscribed"
                assert await broker.apresence("room:1") == ["user:1", "user:2"]
                assert broker.presence("board") == []
                with app.app_context():
                    sync = await asyncio.to_thread(publisher.presence, "room:1")
                assert sync == ["user:1", "user:2"]
                # Entries are renewed: still there after several TTLs.
                await asyncio.sleep(1.0)
                assert await broker.apresence("room:1") == ["user:1", "user:2"]
                await send(two, type="unsubscribe", channel="room:1")
                frame = await recv(one)
                assert (frame["event"], frame["data"]) == ("presence.leave", {"member": "user:2"})
            await until(lambda: broker.presence("room:1") == [])

    try:
        run(main())
    finally:
        publisher.get_broker(app).close()


def test_presence_converges_after_a_replica_is_killed(redis_url: str, prefix: str) -> None:
    # Replica A runs in its own process and is killed with SIGKILL while user 2 is on it:
    # no goodbye reaches Redis. Replica B (here) must see user 2 leave within the TTL.
    script = textwrap.dedent(
        f"""
        import asyncio
        from erlen.realtime import RealtimeServer, RedisBroker, SessionCookieAuth

        async def main():
            server = RealtimeServer(
                broker=RedisBroker({redis_url!r}, prefix={prefix!r}),
                auth=SessionCookieAuth({SECRET!r}),
                allowed_origins=[{ORIGIN!r}],
                authorize=lambda session, channel: True,
                presence_id=lambda session, channel: f"user:{{session['user_id']}}",
                presence_interval=0.3,
            )
            await server.start("127.0.0.1", 0)
            print(server.port, flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    replica_a = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )

    async def main() -> None:
        broker = RedisBroker(redis_url, prefix=prefix)
        server_b = make_server(broker, presence_id=presence_id, presence_interval=0.3)
        try:
            assert replica_a.stdout is not None
            port_a = int(await asyncio.to_thread(replica_a.stdout.readline))
            async with running(server_b), client(server_b, user_id=1) as on_b:
                await send(on_b, type="subscribe", channel="room:1")
                assert (await recv(on_b))["type"] == "subscribed"
                headers = {"Cookie": f"session={cookie_for(user_id=2)}"}
                async with connect(
                    f"ws://127.0.0.1:{port_a}/ws", origin=ORIGIN, additional_headers=headers
                ) as on_a:
                    await recv(on_a)  # welcome
                    await send(on_a, type="subscribe", channel="room:1")
                    assert (await recv(on_a))["type"] == "subscribed"
                    frame = await recv(on_b)
                    assert (frame["event"], frame["data"]) == (
                        "presence.join",
                        {"member": "user:2"},
                    )
                    assert await broker.apresence("room:1") == ["user:1", "user:2"]
                    replica_a.send_signal(signal.SIGKILL)
                    await asyncio.to_thread(replica_a.wait)
                    frame = await recv(on_b, timeout=10)
                    assert (frame["event"], frame["data"]) == (
                        "presence.leave",
                        {"member": "user:2"},
                    )
                    assert await broker.apresence("room:1") == ["user:1"]
        finally:
            await broker.aclose()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        if replica_a.poll() is None:
            replica_a.kill()
        replica_a.wait()
        if replica_a.stdout is not None:
            replica_a.stdout.close()
