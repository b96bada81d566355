"""What only the Redis broker does: one connection per process, and recovering from drops."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
import redis

from erlen import _fastpaths
from erlen.realtime import BrokerUnavailable
from erlen.realtime import RedisBroker


@pytest.fixture
def client(redis_url: str) -> t.Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def pubsub_connections(client: redis.Redis, prefix: str) -> list[dict[str, t.Any]]:
    return [c for c in client.client_list() if c.get("name") == f"{prefix}:realtime"]


async def until(condition: t.Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_one_pubsub_connection_serves_every_local_subscriber(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    async def main() -> None:
        broker = RedisBroker(redis_url, prefix=prefix)
        try:
            subscriptions = [broker.subscribe(f"room:{n}") for n in range(20)]
            subscriptions += [broker.subscribe("board") for _ in range(20)]
            for subscription in subscriptions:
                await subscription.start()
            assert len(pubsub_connections(client, prefix)) == 1
            # Redis sees one subscriber per channel, not one per local listener.
            assert client.pubsub_numsub(f"{prefix}:board") == [(f"{prefix}:board".encode(), 1)]
            broker.publish("board", {"n": 1})
            for subscription in subscriptions[20:]:
                assert await subscription.get(timeout=5) == ("board", {"seq": 1, "n": 1})
            for subscription in subscriptions:
                await subscription.aclose()
            await until(lambda: client.pubsub_numsub(f"{prefix}:board")[0][1] == 0)
        finally:
            await broker.aclose()
        await until(lambda: pubsub_connections(client, prefix) == [])

    asyncio.run(main())


def test_lost_connection_is_resubscribed_and_resync_is_signalled(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    async def main() -> None:
        broker = RedisBroker(redis_url, prefix=prefix)
        resyncs: list[float] = []
        broker.add_resync_callback(lambda: resyncs.append(1.0))
        try:
            async with broker.subscribe("board") as events:
                (connection,) = pubsub_connections(client, prefix)
                client.client_kill_filter(_id=connection["id"])
                await until(lambda: bool(resyncs), timeout=10)
                assert broker.reconnects == 1
                assert broker.state == "connected"
                assert events.resyncs == 1 and events.may_have_missed
                broker.publish("board", {"after": "reconnect"})
                assert await events.get(timeout=5) == ("board", {"seq": 1, "after": "reconnect"})
        finally:
            await broker.aclose()

    asyncio.run(main())


def test_no_resync_when_nothing_was_subscribed(
    redis_url: str, prefix: str, client: redis.Redis
) -> None:
    async def main() -> None:
        broker = RedisBroker(redis_url, prefix=prefix)
        resyncs: list[float] = []
        broker.add_resync_callback(lambda: resyncs.append(1.0))
        try:
            await broker.start()
            await until(lambda: broker.state == "connected")
            (connection,) = pubsub_connections(client, prefix)
            client.client_kill_filter(_id=connection["id"])
            await until(lambda: broker.reconnects == 1 and broker.state == "connected", 10)
            async with broker.subscribe("board") as events:
                broker.publish("board", {"n": 1})
                assert await events.get(timeout=5) == ("board", {"seq": 1, "n": 1})
            assert resyncs == []
        finally:
            await broker.aclose()

    asyncio.run(main())


def test_unreachable_redis_makes_publish_raise_and_health_say_so(prefix: str) -> None:
    # Port 1 on loopback refuses connections at once.
    broker = RedisBroker("redis://127.0.0.1:1/0", prefix=prefix, socket_timeout=1)

    async def main() -> dict[str, t.Any]:
        try:
            with pytest.raises(BrokerUnavailable, match="'board'"):
                broker.publish("board", {"n": 1})
            with pytest.raises(BrokerUnavailable):
                await broker.apublish("board", {"n": 1})
            await broker.start()
            await asyncio.sleep(0.3)
            # Subscribing doesn't fail: it waits (bounded) and renews on reconnect.
            broker.subscribe_timeout = 0.2
            async with broker.subscribe("board"):
                pass
            return broker.health()
        finally:
            await broker.aclose()

    health = asyncio.run(main())
    assert health["state"] in {"connecting", "disconnected"}


# -- reading the pub/sub connection (the raw_pubsub fast path, and get_message without it) --


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_pubsub_connection_is_read_raw_unless_fast_paths_are_off(
    redis_url: str, prefix: str, protocol: int
) -> None:
    # Either protocol version; idle long enough for the watchdog to ping several times,
    # whose answers (a PONG array in RESP2, a simple string in RESP3) must count as signs
    # of life, or it would reconnect.
    url = f"{redis_url}{'&' if '?' in redis_url else '?'}protocol={protocol}"

    async def main() -> tuple[bool, int]:
        broker = RedisBroker(url, prefix=prefix, health_check_interval=0.5)
        try:
            async with broker.subscribe("board") as events:
                broker.publish("board", {"n": 1})
                assert await events.get(timeout=5) == ("board", {"seq": 1, "n": 1})
                await asyncio.sleep(2.5)  # ~4 pings; a reply may take up to ~0.5 s
                broker.publish("board", {"n": 2})
                assert await events.get(timeout=5) == ("board", {"seq": 2, "n": 2})
                return broker._reads_raw, broker.reconnects
        finally:
            await broker.aclose()

    reads_raw, reconnects = asyncio.run(main())
    assert reads_raw is _fastpaths.ENABLED
    assert reconnects == 0


def test_a_burst_and_events_larger_than_one_read_arrive_whole_and_in_order(
    redis_url: str, prefix: str
) -> None:
    # Many events per socket read, and events split across reads (the reader takes 64 KiB
    # at a time).
    big = "é" * 60_000  # 120,000 bytes of UTF-8
    sizes = [10, 64 * 1024, 5, 200_000, 1]

    async def main() -> list[tuple[str, dict[str, t.Any]]]:
        broker = RedisBroker(redis_url, prefix=prefix, max_event_size=300_000)
        try:
            async with broker.subscribe("room:1", maxsize=2000) as events:
                batch: list[tuple[str, dict[str, t.Any]]] = [
                    ("room:1", {"n": n}) for n in range(500)
                ]
                batch += [("room:1", {"n": 500 + i, "pad": "x" * s}) for i, s in enumerate(sizes)]
                batch.append(("room:1", {"n": 505, "big": big}))
                await asyncio.to_thread(broker.publish_many, batch)
                return [await events.get(timeout=10) for _ in range(len(batch))]
        finally:
            await broker.aclose()

    got = asyncio.run(main())
    assert [event["n"] for _, event in got] == list(range(506))
    assert [event["seq"] for _, event in got] == list(range(1, 507))
    assert {channel for channel, _ in got} == {"room:1"}
    assert [len(event["pad"]) for _, event in got[500:505]] == sizes
    assert got[505][1]["big"] == big


def test_a_malformed_message_from_another_client_is_dropped_and_the_rest_flows(
    redis_url: str, prefix: str, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> list[tuple[str, dict[str, t.Any]]]:
        broker = RedisBroker(redis_url, prefix=prefix)
        try:
            async with broker.subscribe("board") as events:
                client.publish(f"{prefix}:board", b"\xff not json")
                client.publish(f"{prefix}:board", b"[1, 2]")
                broker.publish("board", {"n": 1})
                return [await events.get(timeout=5)]
        finally:
            await broker.aclose()

    with caplog.at_level("WARNING", logger="erlen.realtime.broker"):
        assert asyncio.run(main()) == [("board", {"seq": 1, "n": 1})]
    assert caplog.text.count("Dropped a malformed event on channel 'board'") == 2
