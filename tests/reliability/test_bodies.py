"""R3, R4: oversize bodies and multipart abuse are refused early, in bounded memory.

- R3 ``test_oversize_bodies_are_refused_before_they_are_read``: a 10 GB Content-Length and
  an endless chunked body get nginx's 413; a 100 kB body (buffered to disk by nginx) gets
  the app's own answer.
- R4 ``test_multipart_abuse_is_refused_quickly``: the three werkzeug DoS shapes scaled under
  nginx's 1 MiB, and an unterminated boundary.
"""

from __future__ import annotations

import time

from outside import Client
from outside import Figure
from outside import ms
from outside import nginx_access
from outside import raw_socket
from outside import request_id
from outside import rss_kib
from outside import wait_until
from stack import Stack

MIB = 1024 * 1024


def _answer(sock_data: bytes) -> int:
    return int(sock_data.split(b" ", 2)[1])


def test_oversize_bodies_are_refused_before_they_are_read(rstack: Stack, figure: Figure) -> None:
    before = {name: rss_kib(rstack.processes[name]) for name in ("nginx", "web")}
    host = f"127.0.0.1:{rstack.ports['nginx']}"

    # A 10 GB Content-Length: refused on the head alone.
    rid = request_id()
    sock = raw_socket(rstack)
    sock.sendall(
        f"POST /api/messages HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10 * 1024**3}\r\nX-Request-ID: {rid}\r\n\r\n".encode()
    )
    started = time.perf_counter()
    head = sock.recv(4096)
    declared = time.perf_counter() - started
    sock.close()
    assert _answer(head) == 413

    # Chunked, no length: nginx counts as it reads and stops past 1 MiB.
    rid_chunked = request_id()
    sock = raw_socket(rstack)
    sock.sendall(
        f"POST /api/messages HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nX-Request-ID: {rid_chunked}\r\n\r\n".encode()
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    sent = 0
    try:
        while sent < 8 * MIB:
            sock.sendall(chunk)
            sent += 64 * 1024
    except OSError:
        pass  # nginx closed the connection after answering
    sock.settimeout(10)
    answer = sock.recv(4096)
    sock.close()
    assert _answer(answer) == 413

    with Client(rstack) as visitor:
        visitor.open_board()
        buffered = visitor.post("/api/messages", json={"body": "x" * 100_000})
    # nginx kept the 100 kB in a temp file and passed it on: the app's answer, not a 500.
    assert buffered.status_code == 422, buffered.text
    assert "at most 500 characters" in buffered.text

    wait_until(lambda: {rid, rid_chunked} <= nginx_access(rstack).keys(), 5, "access log")
    log = nginx_access(rstack)
    assert log[rid] == (413, "-") and log[rid_chunked] == (413, "-")  # web never saw them
    after = {name: rss_kib(rstack.processes[name]) for name in ("nginx", "web")}
    for name in before:
        assert after[name] - before[name] < 32 * 1024, (
            f"{name} grew by {after[name] - before[name]} KiB"
        )
    figure("10 GB Content-Length", f"413 in {ms(declared)}, nothing read")
    figure("chunked body", "413 once past 1 MiB (nginx's error log: 1048576+65536 bytes)")
    figure("100 kB body buffered by nginx", "the app's 422")
    figure(
        "RSS change nginx / web",
        f"{after['nginx'] - before['nginx']} / {after['web'] - before['web']} KiB",
    )


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, value in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_multipart_abuse_is_refused_quickly(rstack: Stack, figure: Figure) -> None:
    marker = f"unterminated-{request_id()}"
    content_type = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    cases = {
        # werkzeug's CVE-2023-25577: many parts (MAX_FORM_PARTS 1000).
        "10,000 empty parts": _multipart([("p", b"")] * 10_000),
        # CVE-2023-46136: a large part starting with CR/LF, no newline after.
        "400 kB part starting with CRLF": _multipart([("body", b"\r\n" + b"y" * 400_000)]),
        # CVE-2024-49767: a big non-file field (MAX_FORM_MEMORY_SIZE 500 kB).
        "600 kB text field": _multipart([("body", b"z" * 600_000)]),
        "unterminated boundary": b'--b0undary\r\nContent-Disposition: form-data; name="body"'
        b"\r\n\r\n" + marker.encode(),
        "a normal 400 kB field": _multipart([("body", b"w" * 400_000)]),
    }
    results = {}
    with Client(rstack) as visitor:
        visitor.open_board()
        before = rss_kib(rstack.processes["web"])
        for name, body in cases.items():
            started = time.perf_counter()
            response = visitor.post("/messages", content=body, headers=content_type)
            results[name] = (response.status_code, time.perf_counter() - started)
        after = rss_kib(rstack.processes["web"])
    statuses = {name: status for name, (status, _) in results.items()}
    assert statuses["10,000 empty parts"] == 413
    assert statuses["600 kB text field"] == 413
    # werkzeug (as under Flask) drops a form that never ends: the board re-renders saying
    # the message was empty (422), and nothing is stored.
    assert statuses["unterminated boundary"] == 422
    with Client(rstack) as reader:
        stored = reader.get("/api/messages", params={"limit": 100}).json()["messages"]
    assert marker not in [m["body"] for m in stored]
    # Within the limits, a long CRLF-led part is parsed like any other: the message is too
    # long, which the board's form reports (422, re-rendered), not an error.
    assert statuses["400 kB part starting with CRLF"] == statuses["a normal 400 kB field"] == 422
    assert after - before < 32 * 1024
    for name, (status, seconds) in results.items():
        figure(name, f"{status} in {ms(seconds)}")
    figure("web RSS change", f"{after - before} KiB")
