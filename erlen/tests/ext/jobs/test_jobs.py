"""Jobs with the in-memory broker: declaring, sending, running in-process, retrying."""

from __future__ import annotations

import socket
import threading
import time
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

import erlen
from erlen.ext.jobs import JobArgumentError
from erlen.ext.jobs import Jobs
from erlen.ext.jobs import make_broker


@pytest.fixture
def jobs(app: erlen.Erlen) -> t.Iterator[Jobs]:
    """A Jobs extension, set up on the test app after each test declared its jobs."""
    extension = Jobs()
    yield extension
    state = app.extensions.get("jobs")
    if state is not None:
        state.close()


def test_sent_job_runs_on_the_in_process_worker(app: erlen.Erlen, jobs: Jobs) -> None:
    done: list[int] = []

    @jobs.actor
    def add(a: int, b: int) -> None:
        done.append(a + b)

    jobs.init_app(app)
    with app.app_context():
        add.send(1, 2)
        add.send(3, 4)
    assert done == []  # nothing runs without a worker
    worker = jobs.run_worker_thread()
    jobs.join()
    worker.stop()
    assert sorted(done) == [3, 7]


def test_jobs_run_inside_the_app_context_and_tear_it_down(app: erlen.Erlen, jobs: Jobs) -> None:
    seen: list[t.Any] = []

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        seen.append(("teardown", type(exc).__name__ if exc else None))

    @jobs.actor(max_retries=0)
    def job(fail: bool) -> None:
        erlen.g.marker = "set in the job"
        seen.append(("app", erlen.current_app.name, erlen.g.marker))
        if fail:
            raise ValueError("boom")

    jobs.init_app(app)
    worker = jobs.run_worker_thread(worker_threads=1)
    try:
        # Sent without pushing a context here, so only the job's teardown is recorded.
        job.send_with_options(args=(False,), app=app)
        jobs.join()
        job.send_with_options(args=(True,), app=app)
        jobs.join()
    finally:
        worker.stop()
    assert seen == [
        ("app", app.name, "set in the job"),
        ("teardown", None),
        ("app", app.name, "set in the job"),
        ("teardown", "ValueError"),
    ]


def test_failing_job_is_retried_then_dead_lettered(app: erlen.Erlen, jobs: Jobs) -> None:
    attempts: list[str] = []

    @jobs.actor(max_retries=2, min_backoff=10, max_backoff=20)
    def flaky(token: str) -> None:
        attempts.append(token)
        raise RuntimeError(f"attempt {len(attempts)} failed")

    jobs.init_app(app)
    worker = jobs.run_worker_thread()
    try:
        with app.app_context():
            message = flaky.send("t1")
        jobs.join()
        assert attempts == ["t1", "t1", "t1"]
        (letter,) = jobs.dead_letters(app=app)
        assert letter.message_id == message.message_id
        assert letter.actor_name == "flaky"
        assert letter.args == ("t1",)
        assert letter.retries == 3
        assert letter.traceback is not None and "attempt 3 failed" in letter.traceback
        assert letter.failed_at is not None

        assert jobs.requeue_dead_letter(letter, app=app) is True
        assert jobs.requeue_dead_letter(letter, app=app) is False  # already taken
        jobs.join()
        assert len(attempts) == 6  # a fresh retry budget
        assert jobs.purge_dead_letters(app=app) == 1
        assert jobs.dead_letters(app=app) == []
    finally:
        worker.stop()


def test_jobs_succeeding_after_a_retry_are_not_dead_lettered(app: erlen.Erlen, jobs: Jobs) -> None:
    attempts: list[int] = []

    @jobs.actor(min_backoff=10, max_backoff=20)
    def once_flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("transient")

    jobs.init_app(app)
    worker = jobs.run_worker_thread()
    try:
        with app.app_context():
            once_flaky.send()
        jobs.join()
    finally:
        worker.stop()
    assert len(attempts) == 2
    assert jobs.dead_letters(app=app) == []


def test_jobs_declared_after_init_app_are_bound_too(app: erlen.Erlen, jobs: Jobs) -> None:
    jobs.init_app(app)
    done = threading.Event()

    @jobs.actor(queue_name="late")
    def late() -> None:
        done.set()

    worker = jobs.run_worker_thread()
    try:
        with app.app_context():
            late.send()
        assert done.wait(5)
    finally:
        worker.stop()
    assert "late" in jobs.broker(app).get_declared_queues()


def test_calling_a_job_runs_it_here_and_now(jobs: Jobs) -> None:
    @jobs.actor
    def double(n: int) -> int:
        """Double a number."""
        return n * 2

    assert double(21) == 42
    assert double.__doc__ == "Double a number."


def test_sending_before_init_app_explains_the_fix(jobs: Jobs) -> None:
    @jobs.actor
    def job() -> None:
        pass

    with pytest.raises(RuntimeError, match=r"jobs\.init_app\(app\)"):
        job.send()


def test_each_app_sends_through_its_own_broker(jobs: Jobs) -> None:
    @jobs.actor
    def job() -> None:
        pass

    first = erlen.Erlen("first")
    second = erlen.Erlen("second")
    jobs.init_app(first)
    jobs.init_app(second)
    try:
        with first.app_context():
            job.send()
        assert jobs.broker(first).queues["default"].qsize() == 1
        assert jobs.broker(second).queues["default"].qsize() == 0
        # Outside any app context: the app set up last (also Dramatiq's global broker).
        job.send()
        assert jobs.broker(second).queues["default"].qsize() == 1
        assert dramatiq.get_broker() is jobs.broker(second)
        with pytest.raises(RuntimeError, match="'other' has no jobs"):
            job.actor(erlen.Erlen("other"))
        # Inside another app's context, never silently use the last app's broker.
        with erlen.Erlen("other").app_context(), pytest.raises(RuntimeError, match="init_app"):
            job.send()
    finally:
        first.extensions["jobs"].close()
        second.extensions["jobs"].close()


def test_delayed_jobs_wait_for_their_time(app: erlen.Erlen, jobs: Jobs) -> None:
    done = threading.Event()

    @jobs.actor
    def later() -> None:
        done.set()

    jobs.init_app(app)
    worker = jobs.run_worker_thread()
    try:
        with app.app_context():
            later.send_with_options(delay=timedelta(milliseconds=300))
        assert not done.wait(0.1)
        assert done.wait(5)
    finally:
        worker.stop()


def test_declaration_mistakes_are_reported(app: erlen.Erlen, jobs: Jobs) -> None:
    @jobs.actor
    def job() -> None:
        pass

    with pytest.raises(ValueError, match="'job' is already declared"):

        @jobs.actor(actor_name="job")
        def other() -> None:
            pass

    with pytest.raises(TypeError, match="plain function"):

        @jobs.actor
        async def coroutine() -> None:
            pass

    @jobs.actor(frobnicate=True)
    def odd() -> None:
        pass

    with pytest.raises(ValueError, match="unknown option.*frobnicate"):
        jobs.init_app(app)


def test_actor_options_become_dramatiq_options(app: erlen.Erlen, jobs: Jobs) -> None:
    @jobs.actor(queue_name="mail", max_retries=5, min_backoff=timedelta(seconds=2), time_limit=500)
    def send_mail() -> None:
        pass

    jobs.init_app(app)
    actor = send_mail.actor(app)
    assert actor.queue_name == "mail"
    assert actor.options == {
        "max_retries": 5,
        "min_backoff": 2000,
        "max_backoff": 300_000,
        "time_limit": 500,
    }


def test_only_one_in_process_worker_at_a_time(app: erlen.Erlen, jobs: Jobs) -> None:
    jobs.init_app(app)
    worker = jobs.run_worker_thread()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            jobs.run_worker_thread()
    finally:
        worker.stop()
    jobs.run_worker_thread().stop()


def test_broker_url_picks_the_broker_with_recovery_settings() -> None:
    stub = make_broker("memory://", namespace="app-jobs")
    assert isinstance(stub, StubBroker)
    redis_broker = make_broker("redis://127.0.0.1:6379/1", namespace="app-jobs")
    assert isinstance(redis_broker, RedisBroker)
    assert redis_broker.namespace == "app-jobs"
    assert redis_broker.heartbeat_timeout == 5_000
    assert redis_broker.maintenance_chance == 100_000
    redis_broker.client.close()
    with pytest.raises(ValueError, match="'amqp'") as info:
        make_broker("amqp://user:secret@host", namespace="x")
    assert "secret" not in str(info.value)


def test_a_redis_that_stops_answering_fails_the_send_instead_of_hanging_it(
    app: erlen.Erlen, jobs: Jobs
) -> None:
    # A server that accepts connections and never answers: what a hung Redis looks like.
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
    thread.start()

    @jobs.actor
    def job() -> None: ...

    app.config.update(BROKER_URL=f"redis://127.0.0.1:{port}/0", JOBS_REDIS_TIMEOUT=0.2)
    jobs.init_app(app)
    try:
        with app.app_context(), pytest.raises(redis.TimeoutError):
            job.send()
    finally:
        thread.join(5)
        for connection in accepted:
            connection.close()
        silent.close()


def test_worker_services_start_and_stop_with_the_worker(app: erlen.Erlen, jobs: Jobs) -> None:
    events: list[str] = []

    class Service:
        def stop(self) -> None:
            events.append("stopped")

    def start() -> Service:
        events.append("started")
        return Service()

    jobs.init_app(app)
    jobs.state(app).add_worker_service(start)
    worker = jobs.run_worker_thread()
    assert events == ["started"]
    worker.stop()
    assert events == ["started", "stopped"]


def test_init_app_namespaces_keys_under_the_key_prefix(app: erlen.Erlen, jobs: Jobs) -> None:
    app.config.update(BROKER_URL="redis://127.0.0.1:6379/1", KEY_PREFIX="shop")
    jobs.init_app(app)
    broker = jobs.broker(app)
    assert isinstance(broker, RedisBroker)
    assert broker.namespace == "shop-jobs"


def test_job_over_its_time_limit_is_interrupted_retried_and_dead_lettered(
    app: erlen.Erlen, jobs: Jobs
) -> None:
    started: list[int] = []
    finished: list[int] = []

    @jobs.actor(time_limit=200, max_retries=1, min_backoff=10, max_backoff=20)
    def too_slow() -> None:
        started.append(1)
        # Short sleeps: the interrupt is an async exception, delivered between bytecodes.
        for _ in range(200):
            time.sleep(0.05)
        finished.append(1)

    jobs.init_app(app)
    worker = jobs.run_worker_thread(worker_threads=1)
    try:
        too_slow.send_with_options(app=app)
        jobs.join(timeout=30)
    finally:
        worker.stop()
    assert (len(started), finished) == (2, [])  # the first run and one retry, both cut short
    (letter,) = jobs.dead_letters(app=app)
    assert letter.actor_name == "too_slow"
    assert letter.traceback is not None and "TimeLimitExceeded" in letter.traceback


def test_middleware_gets_the_worker_lifecycle_signals(app: erlen.Erlen, jobs: Jobs) -> None:
    seen: list[str] = []

    class Watcher(dramatiq.Middleware):
        def after_process_boot(self, broker: dramatiq.Broker) -> None:
            seen.append("process_boot")

        def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
            seen.append("worker_boot")

        def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
            seen.append("worker_shutdown")

    jobs.init_app(app)
    jobs.broker(app).add_middleware(Watcher())
    jobs.run_worker_thread(app=app).stop()
    jobs.run_worker_thread(app=app).stop()
    # process_boot once per process (the time-limit watchdog is started only once).
    assert seen == ["process_boot", "worker_boot", "worker_shutdown"] + [
        "worker_boot",
        "worker_shutdown",
    ]


def test_arguments_that_cannot_be_serialised_are_refused_at_enqueue(
    app: erlen.Erlen, jobs: Jobs
) -> None:
    @jobs.actor
    def remind(user_id: int, *, at: t.Any = None, note: str = "") -> None:
        pass

    jobs.init_app(app)
    broker = jobs.broker(app)
    with app.app_context():
        with pytest.raises(JobArgumentError, match=r"argument 'at' \(datetime\)") as info:
            remind.send(1, at=datetime.now(UTC))
        assert (info.value.job, info.value.argument) == ("remind", "at")
        assert isinstance(info.value, TypeError)
        with pytest.raises(JobArgumentError, match=r"argument 'user_id' \(object\)"):
            remind.send_with_options(args=(object(),))
        with pytest.raises(JobArgumentError, match="missing a required argument: 'user_id'"):
            remind.send()  # type: ignore[call-arg]
        with pytest.raises(JobArgumentError, match=r"argument 'note' \(set\)"):
            remind.message(1, note={"a"})  # type: ignore[arg-type]
        assert broker.queues["default"].qsize() == 0  # nothing was enqueued
        remind.send(1, at="2026-12-03T09:00:00+00:00", note="ok")
        assert broker.queues["default"].qsize() == 1
