"""Progress reports through the realtime publisher, the stored state, and cancellation."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import typing as t

import pytest
import redis

import erlen
from erlen.ext.jobs import Jobs
from erlen.ext.realtime import Publisher


def wait_for(condition: t.Callable[[], t.Any], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.01)


@pytest.fixture
def jobs(app: erlen.Erlen) -> t.Iterator[Jobs]:
    extension = Jobs()
    yield extension
    state = app.extensions.get("jobs")
    if state is not None:
        state.close()


def test_progress_reaches_a_redis_subscriber_in_order_and_the_last_state_is_kept(
    app: erlen.Erlen, redis_url: str, namespace: str
) -> None:
    publisher = Publisher()
    jobs = Jobs(publisher=publisher)

    @jobs.actor(max_retries=0)
    def crunch(steps: int) -> None:
        for step in range(1, steps + 1):
            jobs.report_progress(step, steps, f"step {step} of {steps}")
        jobs.report_progress(steps, steps, "ready", result_url=f"/reports/{steps}")

    app.config.update(
        BROKER_URL=redis_url, REDIS_URL=redis_url, JOBS_NAMESPACE=namespace, KEY_PREFIX=namespace
    )
    publisher.init_app(app)
    jobs.init_app(app)
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    pubsub.subscribe(f"{namespace}:user.7")
    pubsub.get_message(timeout=5)  # the subscription's confirmation
    worker = jobs.run_worker_thread(app=app, worker_threads=1)
    try:
        message = crunch.send_with_options(args=(5,), app=app, progress_channel="user.7")
        jobs.join(app=app)
        events = []
        while (item := pubsub.get_message(timeout=2)) is not None:
            events.append(json.loads(item["data"]))
    finally:
        worker.stop()
        pubsub.close()
        client.close()
        app.extensions["realtime"].close()

    assert {event["event"] for event in events} == {"job.progress"}
    states = [event["data"] for event in events]
    assert [state["seq"] for state in states] == list(range(1, 9))
    assert [event["id"] for event in events] == list(range(1, 9))
    assert [(s["state"], s["current"], s["total"]) for s in states] == [
        ("running", None, None),
        *[("running", step, 5) for step in range(1, 6)],
        ("running", 5, 5),
        ("done", 5, 5),
    ]
    assert states[3]["message"] == "step 3 of 5"
    assert {state["id"] for state in states} == {message.message_id}

    with app.app_context():
        stored = jobs.job_state(message.message_id)
    assert stored is not None
    assert (stored["state"], stored["result_url"], stored["message"]) == (
        "done",
        "/reports/5",
        "ready",
    )
    assert stored["cancel_requested"] is False
    ttl = redis.Redis.from_url(redis_url).ttl(f"{namespace}:progress:{message.message_id}")
    assert 0 < ttl <= 24 * 3600


def test_a_cancelled_job_stops_at_its_next_progress_point(app: erlen.Erlen, jobs: Jobs) -> None:
    steps_done: list[int] = []
    attempts: list[int] = []
    may_continue = threading.Event()

    @jobs.actor(max_retries=3, min_backoff=10, max_backoff=20)
    def long_export() -> None:
        attempts.append(1)
        for step in range(1, 1000):
            jobs.report_progress(step, 999)
            steps_done.append(step)
            if step == 2:
                may_continue.wait(10)

    jobs.init_app(app)
    worker = jobs.run_worker_thread(app=app, worker_threads=1)
    try:
        message = long_export.send_with_options(app=app, progress_channel="user.1")
        wait_for(lambda: len(steps_done) == 2, "the job to reach step 2")
        jobs.cancel(message.message_id, app=app)
        may_continue.set()
        jobs.join(app=app)
    finally:
        worker.stop()
    assert steps_done == [1, 2]  # stopped at the first report after the request
    assert attempts == [1]  # not retried
    assert jobs.failed(app=app) == []  # nor dead-lettered
    state = jobs.job_state(message.message_id, app=app)
    assert state is not None
    assert (state["state"], state["current"], state["cancel_requested"]) == ("cancelled", 3, True)


def test_a_job_cancelled_before_it_starts_never_runs(app: erlen.Erlen, jobs: Jobs) -> None:
    ran: list[int] = []

    @jobs.actor
    def report() -> None:
        ran.append(1)

    jobs.init_app(app)
    message = report.send_with_options(app=app, progress_channel="user.1")
    other = report.send_with_options(app=app, progress_channel="user.1")
    jobs.cancel(message.message_id, app=app)
    worker = jobs.run_worker_thread(app=app)
    try:
        jobs.join(app=app)
    finally:
        worker.stop()
    assert ran == [1]  # only the other one
    assert jobs.job_state(message.message_id, app=app)["state"] == "cancelled"  # type: ignore[index]
    assert jobs.job_state(other.message_id, app=app)["state"] == "done"  # type: ignore[index]
    assert jobs.job_state("unknown", app=app) is None


def test_a_job_called_directly_reports_progress_to_no_one(app: erlen.Erlen, jobs: Jobs) -> None:
    @jobs.actor
    def count(n: int) -> int:
        jobs.report_progress(1, n)
        return n

    assert count(3) == 3  # before init_app
    jobs.init_app(app)
    with app.app_context():
        assert count(4) == 4


def test_progress_reaches_a_realtime_subscription_in_order_in_memory(app: erlen.Erlen) -> None:
    publisher = Publisher()
    jobs = Jobs(publisher=publisher)

    @jobs.actor
    def resize(images: int) -> None:
        for done in range(1, images + 1):
            jobs.report_progress(done, images, f"{done} resized")

    app.config.update(REDIS_URL="memory://progress-test")
    publisher.init_app(app)
    jobs.init_app(app)
    broker = app.extensions["realtime"]

    def send_and_drain() -> str:
        worker = jobs.run_worker_thread(app=app, worker_threads=1)
        try:
            message = resize.send_with_options(args=(3,), app=app, progress_channel="user.9")
            jobs.join(app=app)
        finally:
            worker.stop()
        return message.message_id

    async def scenario() -> tuple[str, list[tuple[str, dict[str, t.Any]]]]:
        # The same subscription the realtime server fans out to websockets from.
        async with broker.subscribe("user.9") as events:
            await events.start()
            message_id = await asyncio.to_thread(send_and_drain)
            return message_id, [await events.get(timeout=5) for _ in range(5)]

    try:
        message_id, received = asyncio.run(scenario())
    finally:
        app.extensions["jobs"].close()
        broker.close()
    assert [channel for channel, _ in received] == ["user.9"] * 5
    events = [event for _, event in received]
    assert [event["id"] for event in events] == [1, 2, 3, 4, 5]
    assert [(e["data"]["state"], e["data"]["current"]) for e in events] == [
        ("running", None),
        ("running", 1),
        ("running", 2),
        ("running", 3),
        ("done", 3),
    ]
    assert {e["data"]["id"] for e in events} == {message_id}
