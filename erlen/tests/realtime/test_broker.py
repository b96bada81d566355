"""The broker contract: every test here runs against both MemoryBroker and RedisBroker."""

from __future__ import annotations

import asyncio
import gc
import threading
import typing as t

import pytest

from erlen.realtime import Broker
from erlen.realtime import broker_from_url
from erlen.realtime import BrokerClosed
from erlen.realtime import EventTooLarge
from erlen.realtime import InvalidChannel
from erlen.realtime import InvalidEvent
from erlen.realtime import MemoryBroker
from erlen.realtime import RedisBroker

BrokerFactory = t.Callable[..., t.Any]
Runner = t.Callable[..., t.Any]


def nested(depth: int) -> dict[str, t.Any]:
    event: dict[str, t.Any] = {}
    for _ in range(depth):
        event = {"x": event}
    return event


async def nothing_arrives(subscription: t.Any, wait: float = 0.3) -> bool:
    try:
        await subscription.get(timeout=wait)
    except TimeoutError:
        return True
    return False


def test_subscriber_receives_event_published_after_it_subscribed(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("board") as events:
            broker.publish("board", {"event": "message.posted", "data": {"id": 1}, "id": 1})
            assert await events.get(timeout=5) == (
                "board",
                {"seq": 1, "event": "message.posted", "data": {"id": 1}, "id": 1},
            )

    run(main())


def test_async_iteration_yields_channel_and_event(make_broker: BrokerFactory, run: Runner) -> None:
    broker = make_broker()

    async def main() -> list[tuple[str, dict[str, t.Any]]]:
        received = []
        async with broker.subscribe("a", "b") as events:
            await broker.apublish("a", {"n": 1})
            await broker.apublish("b", {"n": 2})
            async for item in events:
                received.append(item)
                if len(received) == 2:
                    break
        return received

    # Each channel numbers its own events.
    assert run(main()) == [("a", {"seq": 1, "n": 1}), ("b", {"seq": 1, "n": 2})]


def test_events_published_before_subscribing_are_not_delivered(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        broker.publish("board", {"n": "early"})
        async with broker.subscribe("board") as events:
            assert await nothing_arrives(events)

    run(main())


def test_publishing_from_other_threads_reaches_the_loop_in_order(
    make_broker: BrokerFactory, run: Runner
) -> None:
    # web and worker threads publish; the realtime loop receives.
    broker = make_broker()

    async def main() -> list[int]:
        async with broker.subscribe("board") as events:
            thread = threading.Thread(
                target=lambda: [broker.publish("board", {"n": n}) for n in range(50)]
            )
            thread.start()
            got = [(await events.get(timeout=5))[1]["n"] for _ in range(50)]
            await asyncio.to_thread(thread.join)
            return got

    assert run(main()) == list(range(50))


def test_other_broker_with_same_prefix_receives_like_another_process(
    make_broker: BrokerFactory, run: Runner
) -> None:
    publisher = make_broker()
    subscriber = make_broker()

    async def main() -> None:
        async with subscriber.subscribe("board") as events:
            publisher.publish("board", {"n": 1})
            assert await events.get(timeout=5) == ("board", {"seq": 1, "n": 1})

    run(main())


def test_brokers_with_different_prefixes_do_not_see_each_other(
    make_broker: BrokerFactory, run: Runner, prefix: str
) -> None:
    publisher = make_broker(prefix=f"{prefix}-other")
    subscriber = make_broker()

    async def main() -> None:
        async with subscriber.subscribe("board") as events:
            publisher.publish("board", {"n": 1})
            assert await nothing_arrives(events)

    run(main())


def test_channels_are_separate(make_broker: BrokerFactory, run: Runner) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("a") as events:
            broker.publish("b", {"n": 1})
            broker.publish("a", {"n": 2})
            assert await events.get(timeout=5) == ("a", {"seq": 1, "n": 2})

    run(main())


def test_several_local_subscribers_each_get_the_event(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with broker.subscribe("board") as one, broker.subscribe("board") as two:
            broker.publish("board", {"n": 1})
            assert await one.get(timeout=5) == ("board", {"seq": 1, "n": 1})
            assert await two.get(timeout=5) == ("board", {"seq": 1, "n": 1})

    run(main())


def test_closing_a_subscription_stops_delivery_and_iteration(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        keep = broker.subscribe("board")
        await keep.start()
        async with broker.subscribe("board") as events:
            pass
        broker.publish("board", {"n": 1})
        assert await keep.get(timeout=5) == ("board", {"seq": 1, "n": 1})
        with pytest.raises(StopAsyncIteration):
            await events.get(timeout=1)
        await keep.aclose()
        assert broker.channels == frozenset()

    run(main())


def test_listener_callbacks_get_the_encoded_payload_once_per_event(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()
    calls: list[tuple[str, bytes]] = []

    def listener(channel: str, payload: bytes) -> None:
        calls.append((channel, payload))

    async def main() -> None:
        # Added twice (two websockets on one channel): still called once per event.
        await broker.listen("board", listener)
        await broker.listen("board", listener)
        async with broker.subscribe("board") as events:
            broker.publish("board", {"n": 1})
            await events.get(timeout=5)
        broker.remove_listener("board", listener)
        assert "board" in broker.channels
        broker.remove_listener("board", listener)
        assert "board" not in broker.channels

    run(main())
    assert calls == [("board", b'{"seq":1,"n":1}')]


def test_a_failing_listener_does_not_stop_the_others(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    def broken(channel: str, payload: bytes) -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        broker.add_listener("board", broken)
        async with broker.subscribe("board") as events:
            broker.publish("board", {"n": 1})
            assert await events.get(timeout=5) == ("board", {"seq": 1, "n": 1})

    run(main())


def test_slow_subscription_drops_and_counts_events_beyond_its_bound(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker()

    async def main() -> None:
        async with (
            broker.subscribe("board", maxsize=3) as events,
            broker.subscribe("board") as all_,
        ):
            for n in range(5):
                broker.publish("board", {"n": n})
            for _ in range(5):
                await all_.get(timeout=5)
            got = [(await events.get(timeout=5))[1]["n"] for _ in range(3)]
            assert got == [0, 1, 2]
            assert events.dropped == 2
            assert events.may_have_missed

    run(main())


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ([1, 2], InvalidEvent),
        ({"type": "x"}, InvalidEvent),
        ({"channel": "x"}, InvalidEvent),
        ({"when": object()}, InvalidEvent),
        ({"n": float("nan")}, InvalidEvent),
        ({"blob": "x" * 2000}, EventTooLarge),
        (nested(10_000), InvalidEvent),
    ],
)
def test_publish_refuses_events_it_cannot_carry(
    make_broker: BrokerFactory, event: t.Any, error: type[Exception]
) -> None:
    broker = make_broker(max_event_size=1024)
    # Earlier tests' garbage is collected here, not by a collection that happens to run at
    # the bottom of the too-deep encoding: a finalizer's warning there hits the recursion
    # limit itself, and pytest reports it as this test's failure (seen in CI).
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(error, match="'board'"):
            broker.publish("board", event)
    finally:
        gc.enable()


@pytest.mark.parametrize("channel", ["", "has space", "*", "a" * 201, "-leading", 5])
def test_invalid_channel_names_are_refused(make_broker: BrokerFactory, channel: t.Any) -> None:
    broker = make_broker()
    with pytest.raises(InvalidChannel):
        broker.publish(channel, {"n": 1})


def test_closed_broker_refuses_to_publish(make_broker: BrokerFactory, run: Runner) -> None:
    broker = make_broker()

    async def main() -> None:
        events = broker.subscribe("board")
        await events.start()
        await broker.aclose()
        with pytest.raises(StopAsyncIteration):
            await events.get(timeout=1)
        with pytest.raises(BrokerClosed):
            broker.publish("board", {"n": 1})
        assert broker.state == "closed"

    run(main())


def test_a_broker_receives_on_one_loop_at_a_time(make_broker: BrokerFactory, run: Runner) -> None:
    broker = make_broker()

    async def main() -> None:
        await broker.start()
        error: list[BaseException] = []

        def other_loop() -> None:
            async def listen() -> None:
                broker.add_listener("board", lambda channel, payload: None)

            try:
                asyncio.run(listen())
            except RuntimeError as e:
                error.append(e)

        await asyncio.to_thread(other_loop)
        assert error and "another event loop" in str(error[0])

    run(main())


def test_health_reports_backend_and_state(make_broker: BrokerFactory, run: Runner) -> None:
    broker: Broker = make_broker()

    async def main() -> dict[str, t.Any]:
        async with broker.subscribe("board"):
            return broker.health()

    health = run(main())
    assert health["state"] == "connected"
    assert health["channels"] == 1
    assert health["backend"] in {"memory", "redis"}


def test_broker_from_url_picks_the_implementation() -> None:
    memory = broker_from_url("memory://", prefix="p")
    redis_broker = broker_from_url("redis://user:secret@127.0.0.1:1/0", prefix="p")
    assert isinstance(memory, MemoryBroker)
    assert isinstance(redis_broker, RedisBroker)
    memory.close()
    redis_broker.close()
    with pytest.raises(ValueError, match="'amqp'") as info:
        broker_from_url("amqp://user:secret@host", prefix="p")
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match="prefix"):
        broker_from_url("memory://", prefix="has space")
