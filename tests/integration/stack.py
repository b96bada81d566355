"""Run the compose stack as local processes: nginx, web (granian), realtime, worker.

Commands, environment and health checks come from docker-compose.yml through
``scripts/stackconf.py``; only what compose gets from Docker is replaced here: service host
names become 127.0.0.1, fixed ports become free ones, and each run gets its own Postgres
database and Redis key prefix, removed afterwards.

``Stack(private_redis=True)`` runs a redis-server of its own on a free port instead of
using the machine's (with compose's persistence: append-only file, here in the run's work
directory), so a test may kill and restart it. :meth:`Stack.terminate_backends` ends the
stack's own Postgres connections, and :meth:`Stack.restart` brings a service back after a
test killed it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
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
from erlen.pytest_tiers import service_port  # noqa: E402

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


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def missing_services(private_redis: bool = False) -> list[str]:
    """Which of the machine's services the integration tier needs are not there.

    :param private_redis: the stack runs its own redis-server, so that program is needed
        rather than the machine's Redis.
    """
    missing = []
    if not port_open(PG_HOST, PG_PORT):
        missing.append(f"Postgres on {PG_HOST}:{PG_PORT}")
    if private_redis:
        if shutil.which("redis-server") is None:
            missing.append("redis-server (apt-get install redis-server)")
    elif not port_open(REDIS_HOST, REDIS_PORT):
        missing.append(f"Redis on {REDIS_HOST}:{REDIS_PORT}")
    if nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    return missing


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def log_records(text: str) -> list[dict[str, t.Any]]:
    """A log's lines as dicts: JSON lines parsed, the others as ``{"message": line}``."""
    records = []
    for line in text.splitlines():
        record = None
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
        records.append(record if isinstance(record, dict) else {"message": line})
    return records


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

    def log_records(self) -> list[dict[str, t.Any]]:
        """The service's log, one dict per line: the app's JSON lines (production's
        ``LOG_FORMAT``) as they are, any other line (the server's own) as ``{"message"}``."""
        return log_records(self.log_path.read_text(errors="replace"))

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """The whole stack on loopback; use as a context manager."""

    realtime_replicas: int = 2
    #: Run a redis-server of the stack's own on a free port (tests that kill Redis).
    private_redis: bool = False
    #: Values for compose's variables (.env) that differ from :meth:`compose_env`'s.
    env_overrides: dict[str, str] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="erlen-stack-")))
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.database = f"erlen_it_{self.run_id}"
        self.key_prefix = f"erlen-it-{self.run_id}"
        self.secret_key = uuid.uuid4().hex + uuid.uuid4().hex
        self.ports["nginx"] = service_port()
        self.ports["web"] = service_port()
        self.ports["mail_smtp"] = service_port()
        self.ports["mail_http"] = service_port()
        self.mail_password = uuid.uuid4().hex
        self.redis_port = service_port() if self.private_redis else REDIS_PORT
        self.host_map = {**HOST_MAP, "redis:6379": f"{REDIS_HOST}:{self.redis_port}"}
        # name -> (compose service, compose port -> local port): how to health-check it.
        self._health: dict[str, tuple[stackconf.Service, dict[str, int]]] = {}
        for i in range(self.realtime_replicas):
            self.ports[f"realtime{i}"] = service_port()
        self.base_url = f"http://127.0.0.1:{self.ports['nginx']}"
        self.ws_url = f"ws://127.0.0.1:{self.ports['nginx']}/ws"

    # -- what compose would interpolate ------------------------------------------------------

    def compose_env(self) -> dict[str, str]:
        """The variables compose would read from .env, for this run."""
        return {
            "SECRET_KEY": self.secret_key,
            "MAILCATCHER_PASSWORD": self.mail_password,
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
            **self.env_overrides,
        }

    def service_env(self, service: stackconf.Service, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        }
        for key, value in service.environment.items():
            for compose_host, local_host in self.host_map.items():
                value = value.replace(compose_host, local_host)
            env[key] = value
        # The catcher as compose names it (MAIL_SERVER's default) is this run's local one.
        if env.get("MAIL_SERVER") == "mail":
            env["MAIL_SERVER"] = "127.0.0.1"
            env["MAIL_PORT"] = str(self.ports["mail_smtp"])
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
        if self.private_redis:
            self._start_redis()
        self._create_database()

        mail = services["mail"]
        self._spawn(
            "mail",
            self._argv(mail.command),
            self.service_env(
                mail,
                MAILCATCHER_HOST="127.0.0.1",
                MAILCATCHER_SMTP_PORT=str(self.ports["mail_smtp"]),
                MAILCATCHER_HTTP_PORT=str(self.ports["mail_http"]),
            ),
        )

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

        self._health["web"] = (services["web"], {"8000": self.ports["web"]})
        for i in range(self.realtime_replicas):
            self._health[f"realtime{i}"] = (
                services["realtime"],
                {"8001": self.ports[f"realtime{i}"]},
            )
        self._health["worker"] = (services["worker"], {})
        self._health["mail"] = (mail, {"8025": self.ports["mail_http"]})
        for name, (service, port_map) in self._health.items():
            self._wait_healthy(name, service, port_map)
        self._start_nginx()

    def restart(self, name: str, timeout: float = 60) -> None:
        """Start service ``name`` again, as it was started, after a test stopped or killed it;
        returns once its health check passes."""
        process = self.processes[name]
        process.stop()
        process.start()
        if name == "redis":
            self._wait_redis()
        else:
            service, port_map = self._health[name]
            self._wait_healthy(name, service, port_map, timeout)

    def kill_redis(self) -> None:
        """SIGKILL the stack's private redis-server (a crash: no shutdown, no final save).
        The append-only file keeps every write Redis acknowledged, as compose's Redis does."""
        if not self.private_redis:
            raise RuntimeError("Only a private Redis may be killed: Stack(private_redis=True).")
        self.processes["redis"].kill()

    def database_backends(self) -> int:
        """How many Postgres connections the stack's services hold on its database."""
        with self._admin_connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchone()
        return int(row[0])

    def terminate_backends(self) -> int:
        """``pg_terminate_backend`` every connection to the stack's own database (never any
        other database's); returns how many were ended. The services' pools find out on
        their next query."""
        with self._admin_connection() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
        return sum(1 for (ended,) in rows if ended)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self._drop_database()
        if self.private_redis:
            shutil.rmtree(self.workdir / "redis", ignore_errors=True)
        else:
            self._clear_redis()

    def erlen(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``erlen --app web.wsgi ARGS`` as the migrate job runs, with web's settings
        (the stack's database and Redis); raise if it fails."""
        web = stackconf.services(self.compose_env())["web"]
        return subprocess.run(
            self._argv(["erlen", "--app", "web.wsgi", *args]),
            env=self.service_env(web),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def create_admin(self, username: str, password: str) -> None:
        """An admin account, made with the CLI (``erlen create-user --admin``)."""
        self.erlen("create-user", username, "--admin", "--password-stdin", input=password + "\n")

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
            mail_upstream=f"127.0.0.1:{self.ports['mail_http']}",
            static_root=str(ROOT / "web" / "static"),
            access_log=str(self.workdir / "nginx-access.log"),
            workdir=ngx_dir,
        )
        # Run as root, nginx's workers would switch to its default unprivileged user, which
        # can't enter this run's private (0700) work directory: every request body over
        # client_body_buffer_size (16 kB), which nginx buffers to a temp file there, would
        # get a 500. So the workers run as the user that owns the directory (this one).
        directives = "daemon off;"
        if os.geteuid() == 0:
            directives += f" user {pwd.getpwuid(os.geteuid()).pw_name};"
        process = self._spawn(
            "nginx",
            [nginx, "-c", str(conf), "-p", str(ngx_dir), "-g", directives],
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

    def _start_redis(self) -> None:
        data = self.workdir / "redis"
        data.mkdir()
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                REDIS_HOST,
                "--dir",
                str(data),
                "--save",
                "",
                # compose's Redis: every acknowledged write is in the file before the reply,
                # fsynced each second; a killed process loses nothing it acknowledged.
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
            {"PATH": os.environ.get("PATH", "")},
        )
        self._wait_redis()

    def _wait_redis(self, timeout: float = 20) -> None:
        import redis

        process = self.processes["redis"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise StackError(f"redis-server exited:\n{process.log_tail()}")
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis(host=REDIS_HOST, port=self.redis_port, socket_timeout=1)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            time.sleep(0.1)
        raise StackError(f"redis-server not answering after {timeout}s")

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
