"""A small app with jobs, for the worker-process tests.

The tests import it to enqueue, and run it as the worker (``python jobsapp.py ...``), the
way ``python -m worker`` runs the starter's app. Jobs leave their traces in Redis lists
under the job namespace, which both processes can see.
"""

from __future__ import annotations

import json
import os
import sys
import time
import typing as t

import redis
from dramatiq.middleware import CurrentMessage

import erlen
from erlen.ext.jobs import Jobs

jobs = Jobs()


def _trace(name: str, value: str) -> int:
    """Append ``value`` to the trace list ``name``; returns the list's new length."""
    config = erlen.current_app.config
    client = redis.Redis.from_url(config["BROKER_URL"])
    try:
        return int(client.rpush(f"{config['JOBS_NAMESPACE']}:trace:{name}", value))
    finally:
        client.close()


@jobs.actor(max_retries=0)
def record(token: str) -> None:
    """Note which process ran the job."""
    _trace("done", f"{token}:{os.getpid()}")


@jobs.actor(max_retries=2, min_backoff=100, max_backoff=300)
def always_fails(token: str) -> None:
    """Fail every time, to end in the dead-letter queue."""
    _trace("attempts", token)
    raise RuntimeError(f"job {token} fails on purpose")


@jobs.actor(max_retries=0)
def slow_first_time(token: str) -> None:
    """Hang on the first run (so the test can kill its worker); finish on the next."""
    starts = _trace("started", f"{token}:{os.getpid()}")
    if starts == 1:
        time.sleep(60)
    _trace("done", f"{token}:{os.getpid()}")


@jobs.actor(time_limit=300, max_retries=1, min_backoff=100, max_backoff=200)
def overruns(token: str) -> None:
    """Run far past the time limit, unless interrupted."""
    _trace("attempts", token)
    for _ in range(100):
        time.sleep(0.05)
    _trace("done", token)


@jobs.actor(max_retries=0)
def tick() -> None:
    """Note which scheduled run this is (the scheduler sends it with ``scheduled_for``)."""
    message = CurrentMessage.get_current_message()
    assert message is not None
    _trace("ticks", f"{message.options['scheduled_for']}|{os.getpid()}")


def create_app(config: dict[str, t.Any] | None = None) -> erlen.Erlen:
    """The app, configured from JOBS_TEST_* variables (worker) or ``config`` (tests)."""
    app = erlen.Erlen(__name__)
    app.config.update(
        BROKER_URL=os.environ.get("JOBS_TEST_BROKER_URL", "memory://"),
        JOBS_NAMESPACE=os.environ.get("JOBS_TEST_NAMESPACE", "erlen-test-jobs"),
    )  # and the shipped recovery settings: the kill test checks their bound
    app.config.update(json.loads(os.environ.get("JOBS_TEST_CONFIG", "{}")))
    app.config.update(config or {})
    jobs.init_app(app)
    return app


if __name__ == "__main__":
    sys.exit(jobs.worker_main(create_app, sys.argv[1:]))
