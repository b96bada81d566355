"""What only the Redis broker does: one connection per process, and recovering from drops."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
import redis

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
