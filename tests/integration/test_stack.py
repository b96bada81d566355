"""The whole topology, through nginx: page, JSON API, jobs, websockets across replicas."""

from __future__ import annotations

import json
import socket
import time
import typing as t
import urllib.request
import uuid

import httpx
import pytest
from nginx_errors import assert_error_page
from nginx_errors import assert_problem
from prometheus_client.parser import text_string_to_metric_families
from stack import Stack
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect
from websockets.typing import Origin


class Visitor:
    """A browser-like client: keeps the session cookie, sends Origin on websockets."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.base_url, timeout=10)

    def __enter__(self) -> Visitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def open_board(self) -> str:
        """Load the page, and from then on send its CSRF token as the page's script does."""
        response = self.http.get("/")
        assert response.status_code == 200, response.text
        marker = '<meta name="csrf-token" content="'
        self.http.headers["X-CSRFToken"] = response.text.split(marker, 1)[1].split('"', 1)[0]
        return response.text

    def websocket(self, origin: str | None = None) -> ClientConnection:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        return connect(
            self.stack.ws_url,
            additional_headers={"Cookie": cookie},
            origin=Origin(origin or self.stack.base_url),
            open_timeout=10,
        )


def receive(
    ws: ClientConnection, until: t.Callable[[dict[str, t.Any]], bool], timeout: float = 15
) -> list[dict[str, t.Any]]:
    """Frames received until one matches ``until`` (included)."""
    frames: list[dict[str, t.Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {timeout}s; got {frames}")
        frame = json.loads(ws.recv(timeout=remaining))
        frames.append(frame)
        if until(frame):
            return frames


def subscribe(ws: ClientConnection, channel: str = "board") -> None:
    ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    receive(ws, lambda f: f.get("type") == "subscribed" and f.get("channel") == channel)


def test_page_is_served_through_nginx_with_a_request_id(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        response = visitor.http.get("/")
    assert response.status_code == 200
    assert 'id="board"' in response.text
    assert len(response.headers["X-Request-ID"]) >= 8
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_a_client_request_id_is_passed_through(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        response = visitor.http.get("/healthz", headers={"X-Request-ID": "test-request-0001"})
    assert response.headers["X-Request-ID"] == "test-request-0001"


def test_static_files_are_served_by_nginx(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        response = visitor.http.get("/static/board.js")
    assert response.status_code == 200
    assert "ErlenRealtime.connect" in response.text
    # Only nginx's /static/ location sets these; web never does.
    cache_control = {part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert cache_control == {"max-age=3600", "public"}
    web_log = stack.processes["web"].log_path.read_text()
    assert "/static/board.js" not in web_log


def test_readiness_through_nginx(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        response = visitor.http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}


def test_json_api_round_trip(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        visitor.open_board()
        created = visitor.http.post("/api/messages", json={"body": "through the api"})
        assert created.status_code == 201, created.text
        listed = visitor.http.get("/api/messages").json()["messages"]
    assert created.json()["id"] in [m["id"] for m in listed]


def test_a_job_event_arrives_on_the_websocket(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        visitor.open_board()
        with visitor.websocket() as ws:
            subscribe(ws)
            created = visitor.http.post("/api/messages", json={"body": "count these four words"})
            message_id = created.json()["id"]
            frames = receive(
                ws,
                lambda f: f.get("event") == "message.processed" and f["data"]["id"] == message_id,
            )
    processed = frames[-1]
    assert processed["type"] == "event" and processed["channel"] == "board"
    assert processed["data"]["word_count"] == 4
    assert any(f.get("event") == "message.posted" and f["data"]["id"] == message_id for f in frames)


def _connections(stack: Stack) -> list[int]:
    counts = []
    for name, port in stack.ports.items():
        if name.startswith("realtime"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                counts.append(json.load(r)["connections"])
    return counts


def test_an_event_published_via_one_replica_reaches_a_client_of_another(stack: Stack) -> None:
    with Visitor(stack) as alice, Visitor(stack) as bob:
        alice.open_board()
        bob.open_board()
        with alice.websocket() as alice_ws, bob.websocket() as bob_ws:
            subscribe(alice_ws)
            subscribe(bob_ws)
            # nginx's least_conn put the two open sockets on different replicas.
            assert sorted(_connections(stack)) == [1, 1]
            alice_ws.send(
                json.dumps({"type": "publish", "channel": "board", "event": "typing", "data": {}})
            )
            frames = receive(bob_ws, lambda f: f.get("event") == "typing")
    assert frames[-1]["data"]["visitor"].startswith("visitor-")


def test_logging_out_closes_the_users_sockets_on_both_replicas(stack: Stack) -> None:
    with Visitor(stack) as user:
        user.open_board()
        signed_up = user.http.post(
            "/register",
            data={"username": f"rt-{uuid.uuid4().hex[:8]}", "password": "correct horse battery"},
        )
        assert signed_up.status_code == 302, signed_up.text
        user.open_board()  # the login's session has a new CSRF token
        with user.websocket() as laptop, user.websocket() as phone:
            subscribe(laptop)
            subscribe(phone)
            assert sorted(_connections(stack)) == [1, 1]  # one socket on each replica
            started = time.monotonic()
            assert user.http.post("/logout").status_code == 302
            codes = []
            for ws in (laptop, phone):
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        ws.recv(timeout=10)
                assert closed.value.rcvd is not None
                codes.append((closed.value.rcvd.code, closed.value.rcvd.reason))
            print(f"\nlogout closed both sockets in {time.monotonic() - started:.3f} s")
    assert codes == [(4401, "session revoked")] * 2


def test_websocket_from_a_foreign_origin_is_refused(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        visitor.open_board()
        with pytest.raises(InvalidStatus) as refused:
            visitor.websocket(origin="https://evil.example").close()
    assert refused.value.response.status_code == 403


def test_websocket_without_a_session_is_refused(stack: Stack) -> None:
    with Visitor(stack) as visitor, pytest.raises(InvalidStatus) as refused:
        visitor.websocket().close()
    assert refused.value.response.status_code == 401


def test_nginx_refuses_an_oversize_body(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        response = visitor.http.post(
            "/api/messages",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        form = visitor.http.post(
            "/login",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        )
        page_script = visitor.http.post(
            "/rooms/general/messages",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
    # nginx answers itself, as web would: a problem for the API, the styled page for a
    # browser, a problem for the pages' fetch() (it asks for JSON first).
    assert_problem(response, 413, "/api/messages")
    assert_error_page(form, 413)
    assert_problem(page_script, 413, "/rooms/general/messages")


def test_the_request_id_reaches_the_web_service_log(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        visitor.http.get("/api/messages", headers={"X-Request-ID": "trace-me-12345"})
    web = stack.processes["web"]

    def traced() -> list[dict[str, t.Any]]:
        return [r for r in web.log_records() if r.get("request_id") == "trace-me-12345"]

    deadline = time.monotonic() + 5
    while not traced() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = traced()
    # Production logs JSON lines: the request id is a field of its own.
    assert lines and lines[-1]["logger"] == "web.access"
    assert lines[-1]["message"].startswith("GET /api/messages 200")


def test_security_headers_come_once_through_nginx(stack: Stack) -> None:
    with Visitor(stack) as visitor:
        page = visitor.http.get("/")
        static = visitor.http.get("/static/style.css")
    for response in (page, static):
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert len(response.headers.get_list("Content-Security-Policy")) == 1
        assert response.headers["X-Request-ID"]


def test_a_body_nginx_buffers_to_disk_reaches_the_app(stack: Stack) -> None:
    # Over client_body_buffer_size (16 kB), nginx writes the body to a temp file before
    # passing it on; its workers must be able to. 100 kB of text is the app's to refuse: a
    # message is at most 500 characters (a 422 naming the limit, not nginx's 500).
    with Visitor(stack) as visitor:
        visitor.open_board()
        response = visitor.http.post("/api/messages", json={"body": "x" * 100_000})
    assert response.status_code == 422, response.text
    assert "at most 500 characters" in response.text


def test_the_mail_catcher_answers_through_nginx_only_with_its_password(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as http:
        refused = http.get("/_mail/api/messages")
        wrong = http.get("/_mail/api/messages", auth=("mail", "guess"))
        listed = http.get("/_mail/api/messages", auth=("mail", stack.mail_password))
    assert refused.status_code == wrong.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert listed.headers["X-Request-ID"]  # nginx's, as on every answer


def test_with_web_down_nginx_answers_a_styled_502_and_a_problem(stack: Stack) -> None:
    stack.processes["web"].stop()
    try:
        with Visitor(stack) as visitor:
            page = visitor.http.get("/rooms/", headers={"Accept": "text/html"})
            board_api = visitor.http.get("/api/messages")
            api_v1 = visitor.http.get(
                "/api/v1/rooms?page=2", headers={"X-Request-ID": "web-is-down-1"}
            )
            stylesheet = visitor.http.get("/static/style.css")
    finally:
        stack.restart("web")
    assert_error_page(page, 502)
    assert_problem(board_api, 502, "/api/messages")
    assert_problem(api_v1, 502, "/api/v1/rooms")
    assert api_v1.headers["X-Request-ID"] == "web-is-down-1"
    assert stylesheet.status_code == 200  # the page's style still comes, from nginx
    with Visitor(stack) as visitor:
        deadline = time.monotonic() + 10
        while visitor.http.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert visitor.http.get("/api/messages").status_code == 200


def _raw_get(port: int, target: str, headers: str = "") -> tuple[int, bytes]:
    """GET ``target`` exactly as written (an HTTP client would normalize it): status, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n"
        sock.sendall(f"{request}\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return t.cast(bytes, r.read()).decode()


def _sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_metrics_are_not_served_through_nginx(stack: Stack) -> None:
    port = stack.ports["nginx"]
    # Every spelling nginx normalizes to /metrics, or under it: nginx answers them itself.
    for target in (
        "/metrics",
        "/metrics?format=text",
        "/metrics/",
        "/metrics/x",
        "/Metrics",
        "/METRICS?x",
        "/%6detrics",
        "/%6Detrics",
        "/metric%73",
        "//metrics",
        "/./metrics",
        "/static/../metrics",
        "/ws/../metrics",
        "/metrics%2F",
    ):
        status, body = _raw_get(port, target)
        assert status == 404, (target, status)
        assert b"<center>nginx</center>" in body, target  # nginx's own page, not web's
    # The rest reach web, whose path is then not /metrics: its own 404.
    for target in ("/metrics%3Fx", "/metrics;x", "/metrics%20", "/metricsx"):
        status, body = _raw_get(port, target)
        assert status == 404, (target, status)
        assert b"erlen_" not in body and b"process_" not in body, target


def test_metrics_on_the_web_process_port(stack: Stack) -> None:
    text = _metrics(stack.ports["web"])
    assert _sample(text, "erlen_dependency_up", dependency="jobs_broker") == 1
    assert _sample(text, "erlen_dependency_up", dependency="database") == 1
    for name in ("erlen_jobs_queued", "erlen_jobs_delayed", "erlen_jobs_dead_letters"):
        assert _sample(text, name, queue="default") is not None, name
    assert _sample(text, "erlen_outbox_pending") is not None
    assert "erlen_http_requests_total" in text
    # What came through nginx is refused on the port too (a second line behind nginx).
    status, body = _raw_get(stack.ports["web"], "/metrics", "X-Forwarded-For: 203.0.113.9\r\n")
    assert status == 404 and b"erlen_" not in body


def _realtime_sum(stack: Stack, name: str) -> float:
    ports = [port for key, port in stack.ports.items() if key.startswith("realtime")]
    return sum(_sample(_metrics(port), name) or 0.0 for port in ports)


def test_realtime_metrics_show_an_open_socket(stack: Stack) -> None:
    connections = _realtime_sum(stack, "erlen_realtime_connections")
    delivered = _realtime_sum(stack, "erlen_realtime_messages_delivered_total")
    with Visitor(stack) as visitor:
        visitor.open_board()
        with visitor.websocket() as ws:
            subscribe(ws)
            assert _realtime_sum(stack, "erlen_realtime_connections") == connections + 1
            assert _realtime_sum(stack, "erlen_realtime_subscriptions") >= 1
            created = visitor.http.post("/api/messages", json={"body": "counted"})
            message_id = created.json()["id"]
            receive(
                ws, lambda f: f.get("event") == "message.posted" and f["data"]["id"] == message_id
            )
            assert _realtime_sum(stack, "erlen_realtime_messages_delivered_total") > delivered
    port = stack.ports["realtime0"]
    status, body = _raw_get(port, "/metrics", "X-Forwarded-For: 203.0.113.9\r\n")
    assert status == 404 and b"erlen_" not in body
