"""R16, R17, R21 (worker): jobs are never lost, failures end as dead letters, SIGTERM drains.

- R16 ``test_worker_killed_mid_job_loses_nothing``: the worker is SIGKILLed three times while
  its jobs are provably running (each blocked on a row lock the test holds), then restarted.
- R17 ``test_a_failing_job_is_retried_then_dead_lettered_with_its_traceback``
- R21 ``test_sigterm_lets_the_running_job_finish`` (the web half is in test_graceful.py).

A job here is ``process_message`` for a message posted through nginx.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from outside import database
from outside import environ_for
from outside import Figure
from outside import post_messages
from outside import processed
from outside import wait_until
from outside import waiting_on_locks
from stack import ROOT
from stack import Stack

ROUNDS = 3
PER_ROUND = 30


def _start_worker_on_locked_rows(stack: Stack) -> None:
    """Restart the worker while the test holds its jobs' rows; return once one of its jobs
    waits for a lock, i.e. runs."""
    stack.restart("worker")
    wait_until(lambda: waiting_on_locks(stack) >= 1, 30, "a job running (waiting on its row)")


@pytest.mark.timeout(240)
def test_worker_killed_mid_job_loses_nothing(rstack: Stack, figure: Figure) -> None:
    every: list[int] = []
    for _ in range(ROUNDS):
        rstack.processes["worker"].kill()
        ids = post_messages(rstack, PER_ROUND)  # queued while no worker runs
        every += ids
        with database(rstack, autocommit=False) as lock:
            lock.execute("SELECT id FROM messages WHERE id = ANY(%s) FOR UPDATE", (ids,))
            _start_worker_on_locked_rows(rstack)
            rstack.processes["worker"].kill()  # SIGKILL, its jobs unacknowledged
            lock.rollback()
    rstack.restart("worker")
    restarted = time.monotonic()
    wait_until(lambda: processed(rstack, every) == len(every), 90, "every message processed")
    drained = time.monotonic() - restarted
    with database(rstack) as conn:
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT id), sum(CASE WHEN word_count = 3 THEN 1 END)"
            " FROM messages WHERE id = ANY(%s)",
            (every,),
        ).fetchone()
    assert counts == (len(every), len(every), len(every))
    figure("jobs / SIGKILLs mid-job", f"{len(every)} / {ROUNDS}")
    figure("lost", len(every) - processed(rstack, every))
    figure("all processed after the last restart", f"{drained:.1f} s")


def _jobs_cli(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "erlen"), "--app", "web.wsgi", "jobs", *args],
        cwd=ROOT,
        env=environ_for(stack, "worker"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.timeout(120)
def test_a_failing_job_is_retried_then_dead_lettered_with_its_traceback(
    rstack: Stack, figure: Figure
) -> None:
    # An id the database refuses, sent as web would send a job, with quick retries.
    marker = f"not-a-number-{os.getpid()}-{time.monotonic_ns()}"
    send = (
        "import web.jobs\n"
        "from web.wsgi import app\n"
        "with app.app_context():\n"
        "    web.jobs.process_message.send_with_options(\n"
        f"        args=({marker!r},), max_retries=2, min_backoff=200, max_backoff=400)\n"
    )
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", send],
        cwd=ROOT,
        env=environ_for(rstack, "web"),
        check=True,
        capture_output=True,
        timeout=60,
    )

    def letter() -> dict[str, object] | None:
        for line in _jobs_cli(rstack, "failed", "--json").splitlines():
            found = json.loads(line)
            if found.get("args") == [marker]:
                return found  # type: ignore[no-any-return]
        return None

    wait_until(lambda: letter() is not None, 90, "the job dead-lettered", interval=0.5)
    dead = letter()
    assert dead is not None
    assert dead["retries"] == 2
    assert "Traceback" in str(dead["traceback"])
    figure("dead-lettered after", f"{time.monotonic() - started:.1f} s, {dead['retries']} retries")
    errors = [line for line in str(dead["traceback"]).splitlines() if "Error" in line]
    figure("error", errors[-1].strip()[:120] if errors else dead["error"])


@pytest.mark.timeout(120)
def test_sigterm_lets_the_running_job_finish(rstack: Stack, figure: Figure) -> None:
    worker = rstack.processes["worker"]
    worker.kill()
    (message_id,) = post_messages(rstack, 1)
    with database(rstack, autocommit=False) as lock:
        lock.execute("SELECT id FROM messages WHERE id = %s FOR UPDATE", (message_id,))
        _start_worker_on_locked_rows(rstack)
        assert worker.popen is not None
        os.killpg(worker.popen.pid, signal.SIGTERM)  # while the job runs
        time.sleep(1)
        assert worker.alive(), "the worker quit with a job running"
        signalled = time.monotonic()
        lock.rollback()  # the job can go on
    code = worker.popen.wait(60)
    stopped = time.monotonic() - signalled
    try:
        assert code == 0
        assert processed(rstack, [message_id]) == 1
        failed = [json.loads(line) for line in _jobs_cli(rstack, "failed", "--json").splitlines()]
        assert [f for f in failed if f.get("args") == [message_id]] == []
    finally:
        rstack.restart("worker")
    figure(
        "worker exited after its job finished",
        f"{stopped:.1f} s after the job could go on, exit {code}",
    )
