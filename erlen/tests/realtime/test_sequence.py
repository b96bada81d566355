"""Batched publishing, per-channel sequence numbers and the replay window, on both brokers."""

from __future__ import annotations

import asyncio
import json
import threading
import typing as t

import pytest

import erlen
from erlen.ext.realtime import Publisher
from erlen.realtime import InvalidEvent
from erlen.realtime.broker import Broker

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]


def test_publish_many_delivers_in_order_and_returns_consecutive_seqs(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("a", "b") as events:
            seqs = broker.publish_many(
                [("a", {"n": 0}), ("b", {"n": 1}), ("a", {"n": 2}), ("a", {"n": 3})]
            )
            assert seqs == [1, 1, 2, 3]
            got = [await events.get(timeout=5) for _ in range(4)]
            assert got == [
                ("a", {"seq": 1, "n": 0}),
                ("b", {"seq": 1, "n": 1}),
                ("a", {"seq": 2, "n": 2}),
                ("a", {"seq": 3, "n": 3}),
            ]
            assert await broker.apublish_many([("b", {"n": 4}), ("b", {})]) == [2, 3]
            assert await events.get(timeout=5) == ("b", {"seq": 2, "n": 4})
            assert await events.get(timeout=5) == ("b", {"seq": 3})
            assert broker.publish_many([]) == []

    run(main())


def test_publish_many_with_an_invalid_event_publishes_nothing(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        with pytest.raises(InvalidEvent, match="'seq'"):
            broker.publish_many([("a", {"n": 1}), ("a", {"seq": 5})])
        assert (await broker.history("a")).seq == 0
        assert broker.publish("a", {"n": 2}) == 1

    run(main())


def test_concurrent_publishers_get_unique_seqs_delivered_in_seq_order(
    make_broker: BrokerFactory, run: Runner
) -> None:
    # Two brokers stand for two web processes publishing on one channel at once.
    publishers = [make_broker(), make_broker()]
    subscriber = make_broker()

    async def main() -> None:
        async with subscriber.subscribe("board") as events:
            returned: list[int] = []

            def work(broker: Broker) -> None:
                for n in range(100):
                    returned.append(broker.publish("board", {"n": n}))

            threads = [threading.Thread(target=work, args=(b,)) for b in publishers]
            for thread in threads:
                thread.start()
            received = [(await events.get(timeout=10))[1]["seq"] for _ in range(200)]
            for thread in threads:
                await asyncio.to_thread(thread.join)
            assert sorted(returned) == list(range(1, 201))
            assert received == list(range(1, 201))

    run(main())


def test_history_replays_what_was_missed_within_the_window(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker(replay_size=20)

    async def main() -> None:
        assert await broker.history("board") == (0, [])
        for n in range(30):
            broker.publish("board", {"n": n})
        latest = await broker.history("board")
        assert latest == (30, [])
        recent = await broker.history("board", since=25)
        assert recent.seq == 30
        assert recent.events is not None
        assert [json.loads(p) for p in recent.events] == [
            {"seq": s, "n": s - 1} for s in range(26, 31)
        ]
        assert await broker.history("board", since=30) == (30, [])
        # Older than the window: the caller must resync.
        assert (await broker.history("board", since=2)).events is None
        # Ahead of the channel (its counter was reset): resync too.
        assert (await broker.history("board", since=99)).events is None
        # Channels are independent.
        assert await broker.history("other", since=0) == (0, [])

    run(main())


def test_replay_size_zero_keeps_numbering_but_no_window(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker(replay_size=0)

    async def main() -> None:
        assert broker.publish("board", {"n": 1}) == 1
        assert broker.publish("board", {"n": 2}) == 2
        assert (await broker.history("board", since=1)).events is None
        assert await broker.history("board", since=2) == (2, [])

    run(main())


def test_publisher_extension_publishes_batches(broker_url: str, prefix: str, run: Runner) -> None:
    app = erlen.Erlen(__name__)
    app.config.update(REDIS_URL=broker_url, KEY_PREFIX=prefix)
    publisher = Publisher(app)
    broker = publisher.get_broker(app)

    async def main() -> None:
        async with broker.subscribe("board") as events:
            with app.app_context():
                assert publisher.publish("board", "posted", {"id": 7}) == 1
                assert publisher.publish_many(
                    [("board", "posted", {"id": 8}), ("board", "edited", {"id": 7, "v": 2})]
                ) == [2, 3]
            got = [(await events.get(timeout=5))[1] for _ in range(3)]
        assert got == [
            {"seq": 1, "event": "posted", "data": {"id": 7}, "id": 7},
            {"seq": 2, "event": "posted", "data": {"id": 8}, "id": 8},
            {"seq": 3, "event": "edited", "data": {"id": 7, "v": 2}, "id": 7},
        ]

    try:
        run(main())
    finally:
        broker.close()
