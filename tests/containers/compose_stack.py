"""`make up` for real: the engine, the base images, the stack, and what the tier must undo.

The tier runs the commands a person types (``make images``, ``make up``, ``make down``) in
the repository, and reaches the stack only through nginx on the published port, plus the
Docker CLI for what a person would do to containers (scale, crash, inspect).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import yaml
from stack import log_records

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = ROOT / "scripts" / "docker-engine.sh"
# docker-compose.yml's `name:` (scripts/rename.py changes it in a fork).
PROJECT = str(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["name"])
PROJECT_LABEL = f"label=com.docker.compose.project={PROJECT}"
# Anonymous volumes are named by the engine with 64 hex digits.
ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")


class Unavailable(Exception):
    """Something the tier needs is missing here; the message says what and how to get it."""


def run(
    *args: str, timeout: float = 120, check: bool = True, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository; on failure the error carries its output."""
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {shlex.join(args)}\n{result.stdout}{result.stderr}\n")
    if check and result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} exited {result.returncode}:\n"
            f"{(result.stdout + result.stderr)[-4000:]}"
        )
    return result


def request_ids_logged(log: str) -> set[str]:
    """The request ids of the app's log lines in ``log``: production logs are JSON
    (``LOG_FORMAT``), and ``docker compose logs`` puts ``service-1  | `` before each."""
    lines = [line.partition(" | ")[2] if " | {" in line else line for line in log.splitlines()]
    return {
        record["request_id"]
        for record in log_records("\n".join(lines))
        if record.get("request_id") not in (None, "-")
    }


def docker_lines(*args: str) -> list[str]:
    return [line for line in run("docker", *args).stdout.splitlines() if line.strip()]


def engine_answers() -> bool:
    try:
        return run("docker", "info", check=False, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def env_file_value(name: str, default: str) -> str:
    env = ROOT / ".env"
    if env.exists():
        for line in env.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name and value.strip():
                return value.strip()
    return default


@dataclass
class ComposeStack:
    """The stack `make up` started, and a record of what this tier created."""

    log: Path
    compose: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    engine_started_here: bool = False
    env_created_here: bool = False
    volumes_before: set[str] = field(default_factory=set)
    dangling_before: set[str] = field(default_factory=set)
    released: bool = False

    @property
    def port(self) -> int:
        return int(env_file_value("HTTP_PORT", "8080"))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    # -- bring-up ---------------------------------------------------------------------------

    def prepare_engine(self) -> None:
        """Docker, Compose v2 and a running engine; starts dockerd if it can (and records it)."""
        if shutil.which("docker") is None:
            raise Unavailable("docker is not installed (scripts/docker-engine.sh install)")
        compose = run(str(ENGINE_SCRIPT), "compose-command", check=False)
        if compose.returncode != 0:
            raise Unavailable(
                "Docker Compose v2 is not installed (scripts/docker-engine.sh install)"
            )
        self.compose = compose.stdout.split()
        if not engine_answers():
            if shutil.which("dockerd") is None or os.geteuid() != 0:
                raise Unavailable("no Docker engine runs and this user cannot start dockerd")
            started = time.monotonic()
            run(str(ENGINE_SCRIPT), "start", timeout=90, log=self.log)
            self.timings["engine start"] = time.monotonic() - started
            self.engine_started_here = (
                run(str(ENGINE_SCRIPT), "started-here", check=False).returncode == 0
            )

    def check_nothing_in_the_way(self) -> None:
        """Never take over a developer's running stack or port."""
        if docker_lines("ps", "-a", "--quiet", "--filter", PROJECT_LABEL):
            raise Unavailable(
                f"containers of compose project {PROJECT!r} exist already; `make down` first"
            )
        if port_open(self.port):
            raise Unavailable(f"port {self.port} is taken; `make up` needs it for nginx")

    def up(self) -> None:
        self.env_created_here = not (ROOT / ".env").exists()
        self.volumes_before = set(
            docker_lines("volume", "ls", "--quiet", "--filter", PROJECT_LABEL)
        )
        self.dangling_before = set(
            docker_lines("volume", "ls", "--quiet", "--filter", "dangling=true")
        )
        for target, timeout in (("images", 1200), ("up", 1200)):
            started = time.monotonic()
            run("make", target, timeout=timeout, log=self.log)
            self.timings[f"make {target}"] = time.monotonic() - started

    # -- what a person does to the running stack ---------------------------------------------

    def run_compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run(*self.compose, *args, timeout=timeout, log=self.log)

    def containers(self, service: str) -> list[str]:
        """Ids of the service's running containers, in replica order."""
        ids = docker_lines(
            "ps",
            "--quiet",
            "--filter",
            PROJECT_LABEL,
            "--filter",
            f"label=com.docker.compose.service={service}",
        )
        return sorted(ids, key=lambda cid: self.inspect(cid)["Name"])

    def inspect(self, container: str) -> dict[str, t.Any]:
        return t.cast(dict[str, t.Any], json.loads(run("docker", "inspect", container).stdout)[0])

    def crash(self, container: str) -> int:
        """SIGKILL the container's main process, as a crash or the OOM killer would, and
        return its restart count before. (``docker kill`` would not do: the engine counts
        it as a deliberate stop, and a restart policy never restarts a stopped container.)"""
        state = self.inspect(container)
        pid = state["State"]["Pid"]
        if not Path(f"/proc/{pid}").exists():
            raise Unavailable("the engine runs on another host; its processes cannot be killed")
        os.kill(pid, 9)
        return int(state["RestartCount"])

    def wait_restarted_and_healthy(
        self, container: str, restarts_before: int, timeout: float = 90
    ) -> float:
        started = time.monotonic()
        deadline = started + timeout
        state: dict[str, t.Any] = {}
        while time.monotonic() < deadline:
            state = self.inspect(container)
            health = state["State"].get("Health", {}).get("Status")
            if state["RestartCount"] > restarts_before and health == "healthy":
                return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(
            f"{state.get('Name')} not restarted and healthy within {timeout}s: "
            f"restarts={state.get('RestartCount')} state={state.get('State')}"
        )

    def realtime_connections(self) -> list[int]:
        """Open websocket connections on each realtime replica, from its own /healthz."""
        probe = (
            "import json, urllib.request; "
            "print(json.load(urllib.request.urlopen('http://127.0.0.1:8001/healthz'))['connections'])"
        )
        return [
            int(run("docker", "exec", cid, "python", "-c", probe).stdout.strip())
            for cid in self.containers("realtime")
        ]

    def logs(self) -> str:
        if not self.compose:
            return ""
        result = run(*self.compose, "logs", "--no-color", "--tail=60", check=False, timeout=60)
        return result.stdout + result.stderr

    # -- tear-down: only what this tier created ----------------------------------------------

    def release(self) -> None:
        """Stop the stack, then remove the volumes and .env this tier created and stop an
        engine it started. Idempotent."""
        if self.released:
            return
        self.released = True
        if self.compose and engine_answers():
            if docker_lines("ps", "-a", "--quiet", "--filter", PROJECT_LABEL):
                run("make", "down", timeout=300, check=False, log=self.log)
            volumes = set(docker_lines("volume", "ls", "--quiet", "--filter", PROJECT_LABEL))
            for volume in sorted(volumes - self.volumes_before):
                run("docker", "volume", "rm", volume, check=False, log=self.log)
        if self.env_created_here:
            (ROOT / ".env").unlink(missing_ok=True)
        if self.engine_started_here:
            run(str(ENGINE_SCRIPT), "stop", timeout=90, check=False, log=self.log)
