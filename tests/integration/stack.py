"""Run the compose stack as local processes: nginx, web (granian), realtime, worker.

Commands, environment and health checks come from docker-compose.yml through
``scripts/stackconf.py``; only what compose gets from Docker is replaced here: service host
names become 127.0.0.1, fixed ports become free ones, and each run gets its own Postgres
database and Redis key prefix, removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import stackconf  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379

# Where compose reaches a service -> where the local run reaches it.
HOST_MAP = {
    "postgres:5432": f"{PG_HOST}:{PG_PORT}",
    "redis:6379": f"{REDIS_HOST}:{REDIS_PORT}",
}


class StackError(RuntimeError):
    """The stack could not be started; the message includes the failing service's log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def missing_services() -> list[str]:
    """Which of the machine's services the integration tier needs are not there."""
    missing = []
    if not port_open(PG_HOST, PG_PORT):
        missing.append(f"Postgres on {PG_HOST}:{PG_PORT}")
    if not port_open(REDIS_HOST, REDIS_PORT):
        missing.append(f"Redis on {REDIS_HOST}:{REDIS_PORT}")
    if nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    return missing


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


@dataclass
class Process:
    """One running service process and where its output goes."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL the whole process group (for chaos tests)."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """The whole stack on loopback; use as a context manager."""

    realtime_replicas: int = 2
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="erlen-stack-")))
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.database = f"erlen_it_{self.run_id}"
        self.key_prefix = f"erlen-it-{self.run_id}"
        self.secret_key = uuid.uuid4().hex + uuid.uuid4().hex
        self.ports["nginx"] = free_port()
        self.ports["web"] = free_port()
        for i in range(self.realtime_replicas):
            self.ports[f"realtime{i}"] = free_port()
        self.base_url = f"http://127.0.0.1:{self.ports['nginx']}"
        self.ws_url = f"ws://127.0.0.1:{self.ports['nginx']}/ws"

    # -- what compose would interpolate ------------------------------------------------------

    def compose_env(self) -> dict[str, str]:
        """The variables compose would read from .env, for this run."""
        return {
            "SECRET_KEY": self.secret_key,
            "POSTGRES_USER": PG_USER,
            "POSTGRES_PASSWORD": "unused-with-trust-auth",
            "POSTGRES_DB": self.database,
            "KEY_PREFIX": self.key_prefix,
            "ALLOWED_ORIGINS": self.base_url,
            "REALTIME_URL": "/ws",
            "TRUSTED_HOSTS": "",
            # nginx reaches web over loopback; clients on other loopback addresses
            # (127.0.0.2, ...) are told apart by the address nginx forwards.
            "TRUSTED_PROXIES": "127.0.0.1",
            "SESSION_COOKIE_SECURE": "false",
            "LOG_LEVEL": "info",
            "WEB_WORKERS": "2",
            "WORKER_THREADS": "4",
        }

    def service_env(self, service: stackconf.Service, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        }
        for key, value in service.environment.items():
            for compose_host, local_host in HOST_MAP.items():
                value = value.replace(compose_host, local_host)
            env[key] = value
        env.update(overrides)
        return env

    def _argv(self, command: list[str]) -> list[str]:
        exe = command[0]
        if exe == "python":
            return [sys.executable, *command[1:]]
        local = VENV_BIN / exe
        return [str(local) if local.exists() else exe, *command[1:]]

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        services = stackconf.services(self.compose_env())
        self._create_database()

        migrate = services["migrate"]
        self._run_once(
            "migrate", self._argv(migrate.command), self.service_env(migrate), timeout=120
        )

        web = services["web"]
        self._spawn(
            "web",
            self._argv(web.command),
            self.service_env(web, GRANIAN_HOST="127.0.0.1", GRANIAN_PORT=str(self.ports["web"])),
        )
        realtime = services["realtime"]
        for i in range(self.realtime_replicas):
            self._spawn(
                f"realtime{i}",
                self._argv(realtime.command),
                self.service_env(
                    realtime,
                    REALTIME_HOST="127.0.0.1",
                    REALTIME_PORT=str(self.ports[f"realtime{i}"]),
                ),
            )
        worker = services["worker"]
        self._spawn(
            "worker",
            self._argv(worker.command),
            self.service_env(worker, WORKER_HEARTBEAT_FILE=str(self.workdir / "worker.heartbeat")),
        )

        self._wait_healthy("web", services["web"], {"8000": self.ports["web"]})
        for i in range(self.realtime_replicas):
            self._wait_healthy(
                f"realtime{i}", services["realtime"], {"8001": self.ports[f"realtime{i}"]}
            )
        self._wait_healthy("worker", services["worker"], {})
        self._start_nginx()

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self._drop_database()
        self._clear_redis()

    # -- helpers -----------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        process = Process(name, argv, env, self.workdir / f"{name}.log")
        self.processes[name] = process
        process.start()
        return process

    def _run_once(self, name: str, argv: list[str], env: dict[str, str], timeout: float) -> None:
        process = self._spawn(name, argv, env)
        assert process.popen is not None
        try:
            code = process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.stop()
            raise StackError(
                f"{name} did not finish in {timeout}s:\n{process.log_tail()}"
            ) from None
        if code != 0:
            raise StackError(f"{name} exited with {code}:\n{process.log_tail()}")

    def _wait_healthy(
        self, name: str, service: stackconf.Service, port_map: dict[str, int], timeout: float = 60
    ) -> None:
        """Run the service's compose healthcheck until it passes."""
        process = self.processes[name]
        assert service.healthcheck and service.healthcheck[0] == "CMD", service.healthcheck
        check = service.healthcheck[1:]
        for compose_port, port in port_map.items():
            check = [
                part.replace(f"127.0.0.1:{compose_port}", f"127.0.0.1:{port}") for part in check
            ]
        argv = self._argv(check)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not process.alive():
                raise StackError(f"{name} exited during start-up:\n{process.log_tail()}")
            result = subprocess.run(
                argv, cwd=ROOT, env=process.env, capture_output=True, text=True, timeout=10
            )
            if result.returncode == 0:
                return
            last = (result.stdout + result.stderr).strip()
            time.sleep(0.3)
        raise StackError(f"{name} not healthy after {timeout}s ({last}):\n{process.log_tail()}")

    def _start_nginx(self) -> None:
        nginx = nginx_binary()
        assert nginx is not None
        ngx_dir = self.workdir / "nginx"
        conf = stackconf.render_nginx(
            port=self.ports["nginx"],
            web_upstream=f"127.0.0.1:{self.ports['web']}",
            realtime_upstream=[
                f"127.0.0.1:{self.ports[f'realtime{i}']}" for i in range(self.realtime_replicas)
            ],
            static_root=str(ROOT / "web" / "static"),
            access_log=str(self.workdir / "nginx-access.log"),
            workdir=ngx_dir,
        )
        process = self._spawn(
            "nginx",
            [nginx, "-c", str(conf), "-p", str(ngx_dir), "-g", "daemon off;"],
            {"PATH": os.environ.get("PATH", "")},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not process.alive():
                raise StackError(
                    f"nginx exited:\n{process.log_tail()}\n"
                    + (ngx_dir / "error.log").read_text(errors="replace")
                )
            if port_open("127.0.0.1", self.ports["nginx"]):
                return
            time.sleep(0.1)
        raise StackError("nginx did not start listening")

    def logs(self) -> str:
        """Each service's log tail, for a failing test's report."""
        parts = []
        for name, process in self.processes.items():
            parts.append(
                f"----- {name} ({' '.join(process.argv[:3])} ...) -----\n{process.log_tail()}"
            )
        error_log = self.workdir / "nginx" / "error.log"
        if error_log.exists():
            parts.append(
                f"----- nginx error.log -----\n{error_log.read_text(errors='replace')[-3000:]}"
            )
        return "\n".join(parts)

    def _admin_connection(self) -> t.Any:
        import psycopg

        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
        )

    def _create_database(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def _drop_database(self) -> None:
        with contextlib.suppress(Exception), self._admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _clear_redis(self) -> None:
        import redis

        for db in (0, 1):
            with contextlib.suppress(Exception):
                client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
                keys = list(client.scan_iter(match=f"{self.key_prefix}*", count=500))
                if keys:
                    client.delete(*keys)
                client.close()
