"""What the reliability tests use to play an outside client: loopback addresses of their
own, a browser-like HTTP client, raw sockets, websockets, and readers of the stack's logs."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import socket
import statistics
import time
import typing as t
import uuid
from pathlib import Path

import httpx
from stack import log_records
from stack import Process
from stack import Stack
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect
from websockets.typing import Origin

#: ``figure(name, value)``: the reliability tier's figure fixture (conftest.py).
Figure = t.Callable[[str, t.Any], None]

_counter = itertools.count(1)


def address() -> str:
    """A loopback address no other client of this run has used (127.1.x.y): nginx's
    per-address limits count it on its own. Linux routes all of 127/8 to lo."""
    n = next(_counter)
    return f"127.1.{n // 250}.{n % 250 + 1}"


def request_id() -> str:
    return f"rel-{uuid.uuid4().hex[:16]}"


def csrf_token(html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    assert marker in html, "the page has no CSRF token"
    return html.split(marker, 1)[1].split('"', 1)[0]


class Client:
    """A browser-like client on an address of its own: keeps its cookies, sends the page's
    CSRF token once it has loaded the board, and an ``X-Request-ID`` with every request."""

    def __init__(self, stack: Stack, source: str | None = None, timeout: float = 15) -> None:
        self.stack = stack
        self.source = source or address()
        self.http = httpx.Client(
            base_url=stack.base_url,
            timeout=timeout,
            transport=httpx.HTTPTransport(local_address=self.source),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, url: str, **kwargs: t.Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("X-Request-ID", request_id())
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: t.Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: t.Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def open_board(self) -> str:
        response = self.get("/")
        assert response.status_code == 200, response.text
        self.http.headers["X-CSRFToken"] = csrf_token(response.text)
        return response.text

    def form_token(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, response.text
        return csrf_token(response.text)

    def register(self, username: str, password: str) -> httpx.Response:
        token = self.form_token("/register")
        return self.post(
            "/register", data={"username": username, "password": password, "csrf_token": token}
        )

    def login(self, username: str, password: str) -> httpx.Response:
        token = self.form_token("/login")
        return self.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    def websocket(self, source: str | None = None, **options: t.Any) -> ClientConnection:
        """A websocket through nginx with this client's session, from ``source`` (this
        client's address by default)."""
        options.setdefault("origin", Origin(self.stack.base_url))
        ws: ClientConnection = connect(
            self.stack.ws_url,
            additional_headers={"Cookie": self.cookie_header()},
            open_timeout=10,
            source_address=(source or self.source, 0),
            **options,
        )
        return ws


def subscribe(ws: ClientConnection, channel: str = "board") -> None:
    ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    receive(ws, lambda f: f.get("type") == "subscribed")


def receive(
    ws: ClientConnection, until: t.Callable[[dict[str, t.Any]], bool], timeout: float = 15
) -> list[dict[str, t.Any]]:
    """Frames received until one matches ``until`` (included)."""
    frames: list[dict[str, t.Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {timeout}s; got {frames[-5:]}")
        try:
            frame = json.loads(ws.recv(timeout=remaining))
        except TimeoutError:
            raise AssertionError(
                f"no matching frame within {timeout}s; got {frames[-5:]}"
            ) from None
        frames.append(frame)
        if until(frame):
            return frames


def raw_socket(stack: Stack, source: str | None = None, timeout: float = 30) -> socket.socket:
    """A plain TCP connection to nginx from ``source``."""
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((source or address(), 0))
    sock.connect(("127.0.0.1", stack.ports["nginx"]))
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other side closed ``sock`` (reads what it sent, without blocking)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def wait_until(
    condition: t.Callable[[], t.Any], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll until ``condition()`` is true; return the seconds it took. Failing to happen
    within ``timeout`` is a failure (the bound that keeps the test finite, not a figure)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


def percentile(values: t.Sequence[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- the stack's processes and logs ---------------------------------------------------------


def rss_kib(process: Process) -> int:
    """Resident memory of a service: its process and every process of its group (granian's
    workers), in KiB."""
    assert process.popen is not None
    group = process.popen.pid
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # pgrp
                status = (stat.parent / "status").read_text()
                total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return total


def realtime_connections(stack: Stack) -> int:
    total = 0
    for name, port in stack.ports.items():
        if name.startswith("realtime"):
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            total += int(response.json()["connections"])
    return total


class LogReader:
    """The lines a log file gained since this reader was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_text(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")


_ACCESS = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d{3}) .* rid=(?P<rid>\S+) up=(?P<up>\S+)')


def nginx_access(stack: Stack) -> dict[str, tuple[int, str]]:
    """nginx's access log: request id -> (status, upstream address, ``-`` when nginx
    answered itself)."""
    found = {}
    text = (stack.workdir / "nginx-access.log").read_text(errors="replace")
    for line in text.splitlines():
        match = _ACCESS.search(line)
        if match:
            found[match["rid"]] = (int(match["status"]), match["up"])
    return found


_WEB_ACCESS = re.compile(r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) ")


def web_access(stack: Stack) -> dict[str, int]:
    """Web's access log (web.access, JSON lines): request id -> the status web logged."""
    found = {}
    for record in stack.processes["web"].log_records():
        match = _WEB_ACCESS.match(str(record.get("message", "")))
        if record.get("logger") == "web.access" and match:
            found[str(record["request_id"])] = int(match["status"])
    return found


def tracebacks(text: str) -> list[str]:
    """The tracebacks in a chunk of a service's log (in a JSON line's ``exc``, or printed
    as text by a server), each shortened to its last line."""
    found = []
    for record in log_records(text):
        lines = str(record.get("exc") or record.get("message", "")).splitlines()
        for index, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                rest = [x for x in lines[index + 1 : index + 60] if x and not x.startswith(" ")]
                found.append(rest[0] if rest else line)
    return found


def environ_for(stack: Stack, service: str = "web", **overrides: str) -> dict[str, str]:
    """The environment the stack gives ``service``, for a one-off process of our own."""
    import stackconf

    spec = stackconf.services(stack.compose_env())[service]
    env = stack.service_env(spec, **overrides)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2])])
    return env


# -- the stack's database -------------------------------------------------------------------


def database(stack: Stack, autocommit: bool = True) -> t.Any:
    """A connection of the test's own to the stack's database."""
    import psycopg
    from stack import PG_HOST
    from stack import PG_PORT
    from stack import PG_USER

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname=stack.database,
        autocommit=autocommit,
        application_name="reliability-test",
    )


def waiting_on_locks(stack: Stack) -> int:
    """How many of the services' Postgres connections wait for a lock (one a test holds)."""
    with database(stack) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND wait_event_type = 'Lock' AND application_name <> 'reliability-test'",
            (stack.database,),
        ).fetchone()
    return int(row[0])


def processed(stack: Stack, ids: t.Collection[int]) -> int:
    """How many of these messages the worker has processed."""
    with database(stack) as conn:
        row = conn.execute(
            "SELECT count(*) FROM messages WHERE id = ANY(%s) AND processed_at IS NOT NULL",
            (list(ids),),
        ).fetchone()
    return int(row[0])


def post_messages(stack: Stack, count: int, text: str = "one two three") -> list[int]:
    """Post ``count`` messages through nginx's API, 20 per address (nginx's burst for
    posting); return their ids."""
    ids: list[int] = []
    while len(ids) < count:
        with Client(stack) as poster:
            poster.open_board()
            for _ in range(min(20, count - len(ids))):
                response = poster.post("/api/messages", json={"body": text})
                assert response.status_code == 201, response.text
                ids.append(int(response.json()["id"]))
    return ids
