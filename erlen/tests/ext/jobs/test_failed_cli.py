"""``erlen jobs failed|retry|purge`` and the same as Python, on the memory and Redis brokers."""

from __future__ import annotations

import json
import typing as t

import jobsapp
import pytest
from test_worker_process import wait_for
from test_worker_process import Worker

import erlen
from erlen.ext.jobs import Jobs


def cli(app: erlen.Erlen, *args: str) -> t.Any:
    return app.test_cli_runner().invoke(args=["jobs", *args])


@pytest.fixture
def jobs() -> Jobs:
    return Jobs()


def test_failed_jobs_are_listed_retried_and_purged_from_the_cli_in_memory(
    app: erlen.Erlen, jobs: Jobs
) -> None:
    attempts: list[int] = []

    @jobs.actor(max_retries=1, min_backoff=10, max_backoff=20)
    def broken(order_id: int) -> None:
        attempts.append(order_id)
        raise LookupError(f"order {order_id} is missing")

    @jobs.actor(queue_name="mail", max_retries=0)
    def bounce(to: str) -> None:
        raise ConnectionRefusedError("smtp is down")

    jobs.init_app(app)
    worker = jobs.run_worker_thread(app=app)
    try:
        assert cli(app, "failed").output == "No failed jobs.\n"
        with app.app_context():
            broken.send(7)
            bounce.send("a@example.com")
        jobs.join(app=app)

        result = cli(app, "failed")
        assert result.exit_code == 0, result.output
        assert "broken" in result.output and "[7]" in result.output
        assert "LookupError: order 7 is missing" in result.output
        assert "2 failed job(s)." in result.output
        mail_only = cli(app, "failed", "--queue", "mail").output
        assert "bounce" in mail_only and "broken" not in mail_only

        lines = cli(app, "failed", "--json").output.splitlines()
        records = {record["job"]: record for record in map(json.loads, lines)}
        assert records["broken"]["args"] == [7]
        assert records["broken"]["retries"] == 2
        assert records["bounce"]["queue"] == "mail"
        assert "Traceback" in records["broken"]["traceback"]

        result = cli(app, "retry", records["broken"]["id"])
        assert result.exit_code == 0, result.output
        jobs.join(app=app)
        assert attempts == [7, 7, 7, 7]  # a fresh budget: two more attempts
        assert cli(app, "retry", "no-such-id").exit_code == 1
        assert cli(app, "retry").exit_code == 2  # neither an id nor --all

        assert cli(app, "purge", "--queue", "mail", "--yes").output == "Deleted 1 failed job(s).\n"
        assert [letter.actor_name for letter in jobs.failed(app=app)] == ["broken"]
        assert jobs.retry_all(app=app) == 1
        jobs.join(app=app)
        assert len(attempts) == 6
        assert jobs.purge_failed(app=app) == 1
        assert jobs.failed(app=app) == []
    finally:
        worker.stop()


def test_an_always_failing_job_is_retried_from_the_cli_on_redis(
    redis_url: str, namespace: str, tmp_path: t.Any
) -> None:
    app = jobsapp.create_app({"BROKER_URL": redis_url, "JOBS_NAMESPACE": namespace})
    worker = Worker(redis_url, namespace, tmp_path / "worker.heartbeat")
    try:
        with app.app_context():
            jobsapp.always_fails.send("cli")
        wait_for(lambda: jobsapp.jobs.failed(app=app), "the job to be dead-lettered")
        (letter,) = jobsapp.jobs.failed(app=app)
        assert letter.error == "RuntimeError: job cli fails on purpose"
        assert letter.traceback is not None and "Traceback" in letter.traceback

        listing = cli(app, "failed").output
        assert letter.id in listing and "always_fails" in listing and '["cli"]' in listing
        assert "RuntimeError: job cli fails on purpose" in listing

        result = cli(app, "retry", letter.id)
        assert result.exit_code == 0, result.output
        assert jobsapp.jobs.failed(app=app) == []  # claimed: gone until it fails again
        wait_for(lambda: jobsapp.jobs.failed(app=app), "the retried job to fail again")
        assert cli(app, "retry", "--all").output == "Retried 1 job(s).\n"
        wait_for(lambda: jobsapp.jobs.failed(app=app), "the retried job to fail again")
        assert cli(app, "purge", "--yes").output == "Deleted 1 failed job(s).\n"
        assert cli(app, "failed").output == "No failed jobs.\n"
    finally:
        worker.stop()
        app.extensions["jobs"].close()
