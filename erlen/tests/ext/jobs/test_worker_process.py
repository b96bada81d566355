"""Real worker processes on real Redis: delivery, retries, dead letters, kill -9, health."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import jobsapp
import pytest
import redis

import erlen

HERE = Path(__file__).parent


class Worker:
    """A worker process running jobsapp, and its heartbeat file."""

    def __init__(
        self,
        redis_url: str,
        namespace: str,
        heartbeat: Path,
        config: dict[str, t.Any] | None = None,
    ) -> None:
        env = {
            **os.environ,
            "JOBS_TEST_BROKER_URL": redis_url,
            "JOBS_TEST_NAMESPACE": namespace,
            "PYTHONWARNINGS": "error",
            "JOBS_TEST_CONFIG": json.dumps(config or {}),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "jobsapp.py"),
                "--threads=1",
                f"--heartbeat-file={heartbeat}",
                "--heartbeat-interval=0.2",
                "--shutdown-timeout=5",
            ],
            env=env,
        )
        self.heartbeat = Path(str(heartbeat).replace("{pid}", str(self.process.pid)))
        wait_for(self.heartbeat.exists, "the worker to start", timeout=15)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no cleanup at all
        self.process.wait(timeout=5)


def wait_for(condition: t.Callable[[], t.Any], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.05)


@pytest.fixture
def app(redis_url: str, namespace: str) -> t.Iterator[erlen.Erlen]:
    """The jobs app on Redis, in this process (it enqueues; workers run the jobs)."""
    app = jobsapp.create_app({"BROKER_URL": redis_url, "JOBS_NAMESPACE": namespace})
    yield app
    app.extensions["jobs"].close()


@pytest.fixture
def traces(redis_url: str, namespace: str) -> t.Iterator[t.Callable[[str], list[str]]]:
    client = redis.Redis.from_url(redis_url)

    def read(name: str) -> list[str]:
        values = t.cast("list[bytes]", client.lrange(f"{namespace}:trace:{name}", 0, -1))
        return [value.decode() for value in values]

    yield read
    client.close()


@pytest.fixture
def workers(redis_url: str, namespace: str, tmp_path: Path) -> t.Iterator[t.Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(redis_url, namespace, tmp_path / f"worker-{len(started)}.heartbeat")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def check(heartbeat: Path, max_age: float = 5) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(HERE / "jobsapp.py"),
            "--check",
            f"--heartbeat-file={heartbeat}",
            f"--max-age={max_age}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_job_sent_by_web_is_processed_by_a_worker_process(
    app: erlen.Erlen, workers: t.Callable[[], Worker], traces: t.Callable[[str], list[str]]
) -> None:
    worker = workers()
    with app.app_context():
        jobsapp.record.send("hello")
    wait_for(lambda: traces("done"), "the job to run")
    assert traces("done") == [f"hello:{worker.pid}"]
    assert worker.stop() == 0


def test_failing_job_is_retried_then_dead_lettered(
    app: erlen.Erlen, workers: t.Callable[[], Worker], traces: t.Callable[[str], list[str]]
) -> None:
    workers()
    with app.app_context():
        message = jobsapp.always_fails.send("doomed")
    wait_for(lambda: jobsapp.jobs.dead_letters(app=app), "the job to be dead-lettered")
    assert traces("attempts") == ["doomed"] * 3  # the first run and 2 retries
    (letter,) = jobsapp.jobs.dead_letters(app=app)
    assert letter.message_id == message.message_id
    assert (letter.actor_name, letter.args, letter.queue_name) == (
        "always_fails",
        ("doomed",),
        "default",
    )
    assert letter.traceback is not None and "fails on purpose" in letter.traceback
    assert letter.failed_at is not None

    assert jobsapp.jobs.requeue_dead_letter(letter, app=app)
    assert not jobsapp.jobs.requeue_dead_letter(letter, app=app)
    wait_for(lambda: len(traces("attempts")) == 6, "the requeued job to run again")
    wait_for(lambda: jobsapp.jobs.dead_letters(app=app), "the job to be dead-lettered again")
    assert jobsapp.jobs.purge_dead_letters(app=app) == 1
    assert jobsapp.jobs.dead_letters(app=app) == []


@pytest.mark.slow
def test_job_of_a_killed_worker_runs_again_within_the_shipped_bound(
    app: erlen.Erlen, workers: t.Callable[[], Worker], traces: t.Callable[[str], list[str]]
) -> None:
    # Shipped settings (no forced maintenance): heartbeat timeout 5 s, a recovery pass
    # every 1 s on each worker, consumers polling at least every 1 s.
    state = app.extensions["jobs"]
    assert (state.broker.heartbeat_timeout, state.maintenance_interval) == (5000, 1000)
    bound = 5 + 1 + 1
    first = workers()
    with app.app_context():
        jobsapp.slow_first_time.send("survivor")
    wait_for(lambda: traces("started"), "the job to start")
    second = workers()  # idle, until the first one's job comes back
    first.kill()
    killed = time.monotonic()
    assert traces("done") == []
    wait_for(lambda: traces("done"), "the job to run again", timeout=bound + 10)
    recovered_in = time.monotonic() - killed
    print(f"recovered {recovered_in:.1f} s after the kill")
    assert traces("started") == [f"survivor:{first.pid}", f"survivor:{second.pid}"]
    assert traces("done") == [f"survivor:{second.pid}"]
    # The documented bound, with slack for a loaded machine (this is a bound, not a speed).
    assert recovered_in < bound + 3, f"recovered after {recovered_in:.1f} s"
    assert second.stop() == 0


def test_job_over_its_time_limit_is_interrupted_in_a_worker_process(
    app: erlen.Erlen, workers: t.Callable[[], Worker], traces: t.Callable[[str], list[str]]
) -> None:
    workers()
    with app.app_context():
        jobsapp.overruns.send("late")
    wait_for(lambda: jobsapp.jobs.dead_letters(app=app), "the job to be dead-lettered")
    assert traces("attempts") == ["late", "late"]
    assert traces("done") == []
    (letter,) = jobsapp.jobs.dead_letters(app=app)
    assert letter.traceback is not None and "TimeLimitExceeded" in letter.traceback


def test_a_stopping_worker_never_fails_another_workers_check(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    template = tmp_path / "worker.{pid}.heartbeat"
    first = Worker(redis_url, namespace, template)
    second = Worker(redis_url, namespace, template)
    try:
        assert first.heartbeat != second.heartbeat
        assert check(template).returncode == 0
        assert first.stop() == 0
        assert not first.heartbeat.exists() and second.heartbeat.exists()
        result = check(template)
        assert result.returncode == 0, result.stderr
        second.kill()  # its file stays behind, but its process is gone
        result = check(template)
        assert result.returncode == 1
        assert "no running worker" in result.stderr
    finally:
        for worker in (first, second):
            if worker.process.poll() is None:
                worker.kill()


def test_check_reports_a_running_worker_healthy_and_a_stopped_one_not(
    workers: t.Callable[[], Worker], tmp_path: Path
) -> None:
    worker = workers()
    result = check(worker.heartbeat)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("healthy")
    assert worker.stop() == 0  # SIGTERM: graceful, exit status 0
    assert not worker.heartbeat.exists()
    result = check(worker.heartbeat)
    assert result.returncode == 1
    assert "no heartbeat file" in result.stderr


def test_check_fails_on_a_stale_heartbeat(tmp_path: Path) -> None:
    heartbeat = tmp_path / "stale.heartbeat"
    heartbeat.write_text(f"{time.time() - 60:.3f}\n")
    result = check(heartbeat, max_age=30)
    assert result.returncode == 1
    assert "60." in result.stderr or "old" in result.stderr
    heartbeat.write_text(f"{time.time():.3f}\n")
    assert check(heartbeat, max_age=30).returncode == 0
