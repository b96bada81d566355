"""Keepalive pings: one wheel for every connection (erlen.realtime.keepalive), real clients."""

from __future__ import annotations

import asyncio
import contextlib
import typing as t

import pytest
from test_server import client
from test_server import make_server
from test_server import running

from erlen.realtime import MemoryBroker
from erlen.realtime import server as server_module
from erlen.realtime.keepalive import Keepalive


def count_pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every ping the server sends (the connection each went to)."""
    pinged: list[object] = []
    original = server_module.RealtimeConnection.ping

    async def ping(self: t.Any, data: t.Any = None) -> t.Any:
        pinged.append(self)
        return await original(self, data)

    monkeypatch.setattr(server_module.RealtimeConnection, "ping", ping)
    return pinged


def test_clients_that_answer_are_pinged_every_interval_and_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pinged = count_pings(monkeypatch)

    async def main() -> None:
        server = make_server(MemoryBroker(prefix="keepalive"), ping_interval=0.2, ping_timeout=0.5)
        async with running(server):
            async with client(server) as first, client(server) as second:
                await asyncio.sleep(1.3)
                assert server.stats()["connections"] == 2
                # Both still work.
                for ws in (first, second):
                    pong = await ws.ping()
                    await asyncio.wait_for(pong, 5)
            # Every connection got its pings: ~6 intervals each, allowing for a slow box.
            assert pinged.count(pinged[0]) >= 3
            assert len(set(pinged)) == 2
            # The closed ones leave the wheel.
            for _ in range(100):
                if not server.stats()["connections"]:
                    break
                await asyncio.sleep(0.05)
            assert server._keepalive is not None
            assert len(server._keepalive) == 0

    asyncio.run(main())


def test_a_client_that_stops_answering_is_closed_with_1011(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> tuple[int | None, str | None, float]:
        server = make_server(MemoryBroker(prefix="keepalive"), ping_interval=0.2, ping_timeout=0.3)
        async with running(server):
            async with client(server, ping_interval=None) as ws:
                loop = asyncio.get_running_loop()
                started = loop.time()
                # It stops reading: no pong goes back.
                ws.transport.pause_reading()
                while server.stats()["connections"] and loop.time() - started < 10:
                    await asyncio.sleep(0.05)
                gone_after = loop.time() - started
                assert server.stats()["connections"] == 0
                ws.transport.resume_reading()
                await asyncio.wait_for(ws.wait_closed(), 5)
                return ws.close_code, ws.close_reason, gone_after

    code, reason, gone_after = asyncio.run(main())
    assert (code, reason) == (1011, "keepalive ping timeout")
    # Next ping within an interval (plus a tick), then the timeout, then close_timeout (1).
    assert gone_after < 0.2 + 0.2 + 0.3 + 1 + 1.5


def test_no_pings_without_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    pinged = count_pings(monkeypatch)

    async def main() -> None:
        server = make_server(MemoryBroker(prefix="keepalive"), ping_interval=None)
        async with running(server):
            assert server._keepalive is None
            async with client(server):
                await asyncio.sleep(1.2)
                assert server.stats()["connections"] == 1

    asyncio.run(main())
    assert pinged == []


def test_a_connection_costs_no_task_of_its_own_for_keepalive() -> None:
    # websockets' own keepalive is a task per connection for the connection's life; the
    # wheel adds none (each connection has just websockets' handler task).
    async def main() -> int:
        server = make_server(MemoryBroker(prefix="keepalive"), ping_interval=20)
        async with running(server):
            before = len(asyncio.all_tasks())
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(20):
                    await stack.enter_async_context(client(server, ping_interval=None))
                return len(asyncio.all_tasks()) - before

    assert asyncio.run(main()) <= 20


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ping_interval must be positive"):
        Keepalive(0, 1, 1)
