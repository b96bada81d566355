"""A ``redis-server`` of a test's own on a free port, which the test may kill and restart.

Tests that take Redis away use this, never the machine's Redis. Loaded by ``conftest.py``
as ``erlen_tests_private_redis``; the ``private_redis`` fixture gives a running one.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from erlen.pytest_tiers import service_port


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        # Restarted on the same port: it must stay clear of the ephemeral range.
        self.port = service_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.025)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start on port {self.port}.")

    def kill(self) -> None:
        """SIGKILL: Redis is gone at once, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
