"""Periodic jobs: the cron parser, the missed-run policy, and one scheduler among many."""

from __future__ import annotations

import os
import signal
import typing as t
from datetime import datetime
from datetime import UTC
from pathlib import Path

import pytest
import redis
from dramatiq import Message
from test_worker_process import wait_for
from test_worker_process import Worker

import erlen
from erlen.ext.jobs import Jobs
from erlen.ext.jobs.cron import Cron
from erlen.ext.jobs.cron import CronError
from erlen.ext.jobs.scheduler import Scheduler


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * *", "2026-12-03 08:45:10", "2026-12-03 08:50:00"),
        ("0 9 * * mon-fri", "2026-12-04 09:00:00", "2026-12-07 09:00:00"),  # Fri → Mon
        ("*/2 * * * * *", "2026-12-03 08:45:10", "2026-12-03 08:45:12"),  # seconds field
        ("@monthly", "2026-12-03 08:45:10", "2027-01-01 00:00:00"),
        ("0 0 29 feb *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"),
        ("0 12 13 * fri", "2026-12-03 00:00:00", "2026-12-04 12:00:00"),  # either day field
        ("0 12 13 * *", "2026-12-03 00:00:00", "2026-12-13 12:00:00"),
        ("15,45 1-3/2 * * 7", "2026-12-03 00:00:00", "2026-12-06 01:15:00"),  # 7 is Sunday
        ("30 23 31 12 *", "2026-12-31 23:30:00", "2027-12-31 23:30:00"),
    ],
)
def test_cron_gives_the_next_run_time(expression: str, after: str, expected: str) -> None:
    assert Cron(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * * *", "expected 5 or 6 fields"),
        ("60 * * * *", "minute 60 is out of range"),
        ("* * * foo *", "'foo' is not a valid month"),
        ("*/0 * * * *", "not a valid step"),
        ("5-1 * * * *", "backwards"),
        ("0 0 31 2 *", "never matches"),
    ],
)
def test_cron_errors_name_the_expression_and_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason) as info:
        Cron(expression).next_after(at("2026-01-01 00:00:00"))
    assert repr(expression) in str(info.value)


def test_bad_schedules_fail_at_init_app(app: erlen.Erlen) -> None:
    app.config["JOBS_SCHEDULE"] = {"x": {"cron": "* * *", "job": "y"}}
    with pytest.raises(CronError):
        Jobs().init_app(app)
    app.config["JOBS_SCHEDULE"] = {"x": {"every": 5, "job": "y"}}
    with pytest.raises(ValueError, match="needs 'cron' and 'job'"):
        Jobs().init_app(app)


def test_missed_runs_are_coalesced_into_one_within_the_grace(app: erlen.Erlen) -> None:
    jobs = Jobs()

    @jobs.actor
    def digest(kind: str) -> None:
        pass

    app.config["JOBS_SCHEDULE"] = {
        "hourly": {"cron": "0 * * * *", "job": "digest", "args": ["short"]}
    }
    jobs.init_app(app)
    state = app.extensions["jobs"]
    now = [at("2026-12-03 08:30:00")]
    scheduler = Scheduler(state, state.schedule, missed_grace=3 * 3600, clock=lambda: now[0])
    queue = state.broker.queues["default"]
    try:
        assert scheduler.run_due() == 0  # first sight: nothing for the past
        now[0] = at("2026-12-03 08:59:59")
        assert scheduler.run_due() == 0
        now[0] = at("2026-12-03 09:00:00")
        assert scheduler.run_due() == 1
        assert scheduler.run_due() == 0  # once per run time
        now[0] = at("2026-12-03 12:20:00")  # 10:00, 11:00, 12:00 missed: one catch-up run
        assert scheduler.run_due() == 1
        now[0] = at("2026-12-03 18:10:00")  # 13:00 ... 18:00 missed; 16–18 within grace
        assert scheduler.run_due() == 1
        now[0] = at("2026-12-04 06:30:00")  # every miss older than the grace... except 4–6
        assert scheduler.run_due() == 1
        now[0] = at("2026-12-05 06:30:00")
        scheduler.missed_grace = 10 * 60  # the newest miss (06:00) is 30 min old: skipped
        assert scheduler.run_due() == 0
        now[0] = at("2026-12-05 07:00:00")
        assert scheduler.run_due() == 1
        messages = [queue.get_nowait() for _ in range(queue.qsize())]
        when = [Message.decode(m).options["scheduled_for"] for m in messages]
    finally:
        state.close()
    assert when == [
        "2026-12-03T09:00:00+00:00",
        "2026-12-03T12:00:00+00:00",
        "2026-12-03T18:00:00+00:00",
        "2026-12-04T06:00:00+00:00",
        "2026-12-05T07:00:00+00:00",
    ]


@pytest.mark.slow
def test_two_schedulers_send_each_run_once_and_a_killed_holder_is_replaced(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    config = {
        "JOBS_SCHEDULE": {"tick": {"cron": "* * * * * *", "job": "tick"}},
        "JOBS_SCHEDULER_LOCK_TTL": 2000,
    }
    client = redis.Redis.from_url(redis_url)
    ticks_key = f"{namespace}:trace:ticks"

    def ticks() -> list[str]:
        values = t.cast("list[bytes]", client.lrange(ticks_key, 0, -1))
        return [value.decode().split("|")[0] for value in values]

    def holder_pid() -> int | None:
        holder = client.get(f"{namespace}:scheduler:lock")
        return None if holder is None else int(t.cast(bytes, holder).decode().split(":")[1])

    first = Worker(redis_url, namespace, tmp_path / "a.heartbeat", config)
    second = Worker(redis_url, namespace, tmp_path / "b.heartbeat", config)
    try:
        wait_for(lambda: len(ticks()) >= 4, "four scheduled runs", timeout=20)
        wait_for(holder_pid, "a scheduler to hold the lock")
        (killed,) = [w for w in (first, second) if w.pid == holder_pid()]
        (survivor,) = [w for w in (first, second) if w is not killed]
        before = len(ticks())
        os.kill(killed.pid, signal.SIGKILL)
        killed.process.wait(timeout=5)
        killed_at = datetime.now(UTC)
        wait_for(lambda: len(ticks()) >= before + 4, "four runs after the kill", timeout=25)
        wait_for(lambda: holder_pid() == survivor.pid, "the survivor to hold the lock")
        assert survivor.stop() == 0
    finally:
        for worker in (first, second):
            if worker.process.poll() is None:
                worker.kill()
    runs = ticks()
    client.close()
    print("runs:", [run[11:19] for run in runs], "killed at", killed_at.time())
    assert len(runs) == len(set(runs)), f"a run was sent twice: {runs}"
    assert sum(datetime.fromisoformat(run) > killed_at for run in runs) >= 3


def test_a_run_of_an_undeclared_job_waits_for_a_process_that_declares_it(
    app: erlen.Erlen, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = Jobs()
    app.config["JOBS_SCHEDULE"] = {"report": {"cron": "0 * * * *", "job": "weekly_report"}}
    jobs.init_app(app)
    state = app.extensions["jobs"]
    now = [at("2026-12-03 08:30:00")]
    scheduler = Scheduler(state, state.schedule, clock=lambda: now[0])
    try:
        scheduler.run_due()
        now[0] = at("2026-12-03 09:00:01")
        assert scheduler.run_due() == 0
        assert "unknown job 'weekly_report'" in caplog.text

        @jobs.actor
        def weekly_report() -> None:
            pass

        assert scheduler.run_due() == 1  # the 09:00 run was not lost
        assert state.broker.queues["default"].qsize() == 1
    finally:
        state.close()
