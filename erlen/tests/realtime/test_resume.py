"""Reconnecting clients resume from their last ``seq``: replay, then live, no gap, no repeat.

Each test runs once with each broker (memory and Redis).
"""

from __future__ import annotations

import asyncio
import threading
import typing as t

from test_server import client
from test_server import make_server
from test_server import recv
from test_server import running
from test_server import send
from test_server import silent

from erlen.realtime.broker import Broker

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]


def test_client_away_while_events_were_published_resumes_with_all_in_order_once(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)
    total = 100

    async def main() -> None:
        async with running(server):
            received: list[dict[str, t.Any]] = []
            async with client(server) as ws:
                await send(ws, type="subscribe", channel="board")
                subscribed = await recv(ws)
                assert subscribed == {"type": "subscribed", "channel": "board", "seq": 0}
                # Published from a web thread at its own pace, through the disconnect
                # and the reconnect, so live events race the replay.
                done = threading.Event()

                def publish() -> None:
                    for n in range(total):
                        broker.publish("board", {"n": n})
                        if n % 10 == 0:
                            done.wait(0.01)

                thread = threading.Thread(target=publish)
                thread.start()
                while len(received) < 25:
                    frame = await recv(ws)
                    assert frame["type"] == "event"
                    received.append(frame)
            last = received[-1]["seq"]
            async with client(server) as ws:
                await send(ws, type="subscribe", channel="board", since=last)
                acknowledged = False
                while len(received) < total or not acknowledged:
                    frame = await recv(ws)
                    if frame["type"] == "subscribed":
                        # Everything up to its seq was replayed before it.
                        assert frame["seq"] == received[-1]["seq"]
                        acknowledged = True
                        continue
                    assert frame["type"] == "event", frame
                    received.append(frame)
                await asyncio.to_thread(thread.join)
                assert await silent(ws)
            assert [frame["n"] for frame in received] == list(range(total))
            assert [frame["seq"] for frame in received] == list(range(1, total + 1))

    run(main(), timeout=60)


def test_client_away_longer_than_the_window_is_told_to_resync(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker(replay_size=10)
    server = make_server(broker)

    async def main() -> None:
        async with running(server):
            for n in range(30):
                broker.publish("board", {"n": n})
            async with client(server) as ws:
                await send(ws, type="subscribe", channel="board", since=5)
                assert await recv(ws) == {
                    "type": "resync",
                    "channel": "board",
                    "reason": "Events may have been missed; fetch the current state.",
                }
                assert await recv(ws) == {"type": "subscribed", "channel": "board", "seq": 30}
                broker.publish("board", {"n": 30})
                frame = await recv(ws)
                assert (frame["seq"], frame["n"]) == (31, 30)

    run(main())


def test_resuming_at_the_latest_seq_replays_nothing(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server):
            broker.publish("board", {"n": 0})
            async with client(server) as ws:
                await send(ws, type="subscribe", channel="board", since=1)
                assert await recv(ws) == {"type": "subscribed", "channel": "board", "seq": 1}
                assert await silent(ws)

    run(main())


def test_since_must_be_a_sequence_number(make_broker: BrokerFactory, run: Runner) -> None:
    server = make_server(make_broker())

    async def main() -> None:
        async with running(server), client(server) as ws:
            for since in (-1, "3", 1.5, True):
                await send(ws, type="subscribe", channel="board", since=since)
                frame = await recv(ws)
                assert (frame["type"], frame["code"]) == ("error", "bad_frame")

    run(main())


def test_every_new_subscriber_starts_at_the_channels_latest_seq(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    server = make_server(broker)

    async def main() -> None:
        async with running(server):
            for n in range(3):
                broker.publish("board", {"n": n})
            async with client(server) as first, client(server) as second:
                await send(first, type="subscribe", channel="board")
                assert await recv(first) == {"type": "subscribed", "channel": "board", "seq": 3}
                broker.publish("board", {"n": 3})
                assert (await recv(first))["seq"] == 4
                # The channel is live on this server now; a newcomer starts after seq 4.
                await send(second, type="subscribe", channel="board")
                assert await recv(second) == {"type": "subscribed", "channel": "board", "seq": 4}
                broker.publish("board", {"n": 4})
                assert (await recv(first))["seq"] == 5
                assert (await recv(second))["seq"] == 5
                assert await silent(second)

    run(main())
