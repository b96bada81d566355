"""erlen's Redis consumer, over real Redis.

A full prefetch window waits for an ack and then fetches, instead of sleeping on a timer;
with no ack it goes back to the worker's loop after the idle timeout. Acks queued while one
is on the wire go out together, every one lands, a failed trip fails every ack of its
batch, and Redis losing its scripts loses no ack."""

from __future__ import annotations

import threading
import typing as t

import pytest
import redis
from dramatiq import Message
from dramatiq.errors import ConnectionClosed
from redis.backoff import NoBackoff
from redis.retry import Retry

from erlen.ext.jobs.broker import RedisBroker
from erlen.ext.jobs.consumer import Consumer

THREADS = 8


class HeldFirstTrip(Consumer):
    """Holds the first round trip until every other thread has queued its ack, and records
    each trip's size: which acks shared a trip is then certain, not a matter of timing."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.trips: list[int] = []
        self.between_trips: t.Callable[[], object] = lambda: None

    def _send(self, batch: t.Any) -> None:
        if not self.trips:
            while True:
                with self._acks:
                    if len(self._pending) == THREADS - 1:
                        break
                threading.Event().wait(0.001)
        else:
            self.between_trips()
        self.trips.append(len(batch))
        super()._send(batch)


def fetched(broker: RedisBroker, count: int) -> tuple[HeldFirstTrip, list[t.Any]]:
    enqueue(broker, count)
    consumer = HeldFirstTrip(broker, "default", count, 1000)
    messages = [next(consumer) for _ in range(count)]
    assert all(message is not None for message in messages)
    return consumer, messages


def enqueue(broker: RedisBroker, count: int) -> None:
    broker.declare_queue("default")
    for i in range(count):
        broker.enqueue(
            Message(queue_name="default", actor_name="a", args=(i,), kwargs={}, options={})
        )


def ack_from_threads(consumer: Consumer, messages: list[t.Any]) -> list[BaseException]:
    errors: list[BaseException] = []

    def ack(message: t.Any) -> None:
        try:
            consumer.ack(message)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ack, args=(message,)) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads), "an ack never returned"
    return errors


def unacked(client: redis.Redis, namespace: str) -> int:
    return int(client.hlen(f"{namespace}:default.msgs"))


@pytest.fixture
def broker(redis_url: str, namespace: str) -> t.Iterator[RedisBroker]:
    broker = RedisBroker(url=redis_url, namespace=namespace)
    yield broker
    broker.client.close()


def test_a_full_window_fetches_as_soon_as_a_message_is_acked(broker: RedisBroker) -> None:
    enqueue(broker, 3)
    # A window of two and an idle timeout of 30 s: a fetch that returns a message in less
    # time was woken by the ack, not by a timer.
    consumer = Consumer(broker, "default", 2, 30_000)
    first, second = next(consumer), next(consumer)
    assert first is not None and second is not None
    fetched: list[t.Any] = []
    fetching = threading.Thread(target=lambda: fetched.append(next(consumer)))
    fetching.start()
    fetching.join(0.3)
    assert fetching.is_alive(), "the consumer fetched past a full window"

    consumer.ack(first)

    fetching.join(10)
    assert not fetching.is_alive(), "the ack did not wake the waiting fetch"
    assert fetched[0] is not None and fetched[0].args == (2,)
    consumer.ack(second)
    consumer.ack(fetched[0])


def test_a_full_window_returns_to_the_worker_loop_after_the_idle_timeout(
    broker: RedisBroker,
) -> None:
    enqueue(broker, 3)
    consumer = Consumer(broker, "default", 2, 100)
    held = [next(consumer), next(consumer)]

    assert next(consumer) is None  # nothing acked within 100 ms: the loop checks shutdown

    consumer.nack(held[0])  # a rejection frees the window too
    third = next(consumer)
    assert third is not None and third.args == (2,)


def test_acks_queued_behind_a_round_trip_share_the_next_and_all_land(
    broker: RedisBroker, namespace: str
) -> None:
    consumer, messages = fetched(broker, THREADS)
    assert unacked(broker.client, namespace) == THREADS

    assert ack_from_threads(consumer, messages) == []

    assert consumer.trips == [1, THREADS - 1]
    assert unacked(broker.client, namespace) == 0
    assert broker.client.scard(f"{namespace}:__acks__.{broker.broker_id}.default") == 0
    assert consumer.outstanding_message_count == 0


def test_a_failed_round_trip_fails_every_ack_of_its_batch(
    broker: RedisBroker, namespace: str
) -> None:
    consumer, messages = fetched(broker, THREADS)
    # From here on the broker talks to a port nothing listens on.
    real = broker.client
    broker.client = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    broker.scripts = {
        name: broker.client.register_script(script.script)
        for name, script in broker.scripts.items()
    }

    errors = ack_from_threads(consumer, messages)

    assert consumer.trips == [1, THREADS - 1]
    assert len(errors) == THREADS
    assert all(isinstance(error, ConnectionClosed) for error in errors), errors
    # Nothing was acked: the jobs will run again (Dramatiq retries the ack, or requeues).
    assert unacked(real, namespace) == THREADS
    broker.client = real


def test_a_batch_is_acked_after_redis_loses_its_scripts(
    broker: RedisBroker, namespace: str
) -> None:
    consumer, messages = fetched(broker, THREADS)
    # What a Redis restart does, after the first (lone) ack and before the batch.
    consumer.between_trips = broker.client.script_flush

    assert ack_from_threads(consumer, messages) == []

    assert consumer.trips == [1, THREADS - 1]
    assert unacked(broker.client, namespace) == 0
