"""R1, R2: slow clients hold an nginx connection at most, never web, and are cut off.

- R1 ``test_slow_headers_are_cut_off_while_others_are_served``: slowloris.
- R2 ``test_a_trickled_body_never_reaches_web_and_silence_cuts_it`` and
  ``test_one_address_holds_at_most_64_slow_requests``: nginx has no total bound on a body's
  time; what bounds a trickle is that web never sees it, silence cuts it, and per-address
  concurrency caps how many one address holds.
"""

from __future__ import annotations

import socket
import threading
import time

from nginx_errors import assert_error_page
from outside import address
from outside import Client
from outside import closed_by_peer
from outside import Figure
from outside import ms
from outside import nginx_access
from outside import percentile
from outside import raw_socket
from outside import request_id
from outside import wait_until
from outside import web_access
from stack import Stack

SLOW_SOCKETS = 200  # the research's 2,000 scaled down: the property holds per socket


def test_slow_headers_are_cut_off_while_others_are_served(rstack: Stack, figure: Figure) -> None:
    sources = [address() for _ in range(4)]
    attackers = []
    for i in range(SLOW_SOCKETS):
        sock = raw_socket(rstack, sources[i % len(sources)])
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        attackers.append(sock)
    started = time.monotonic()

    latencies: list[float] = []
    statuses: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        with Client(rstack) as visitor:
            while not stop.is_set():
                t0 = time.perf_counter()
                statuses.append(visitor.get("/healthz").status_code)
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    closed_after: dict[int, float] = {}
    try:
        deadline = started + 40
        while len(closed_after) < len(attackers) and time.monotonic() < deadline:
            for index, sock in enumerate(attackers):
                if index in closed_after:
                    continue
                try:
                    sock.sendall(b"x")  # one more header byte, never the end of the head
                    gone = closed_by_peer(sock)
                except OSError:
                    gone = True
                if gone:
                    closed_after[index] = time.monotonic() - started
            time.sleep(2)
    finally:
        stop.set()
        prober.join()
        for sock in attackers:
            sock.close()

    assert len(closed_after) == SLOW_SOCKETS, "nginx left slow-header sockets open"
    assert statuses and set(statuses) == {200}
    figure("slow-header sockets", SLOW_SOCKETS)
    figure(
        "all closed by nginx after (client_header_timeout 10s)",
        f"{max(closed_after.values()):.1f} s",
    )
    figure("GET /healthz during the attack", f"{len(statuses)} requests, all 200")
    figure("  p50 / p99", f"{ms(percentile(latencies, 50))} / {ms(percentile(latencies, 99))}")


def _trickle_head(stack: Stack, rid: str, path: str = "/api/messages", length: int = 40) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{stack.ports['nginx']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
        f"X-Request-ID: {rid}\r\n\r\n"
    ).encode()


def test_a_trickled_body_never_reaches_web_and_silence_cuts_it(
    rstack: Stack, figure: Figure
) -> None:
    rid = request_id()
    sock = raw_socket(rstack)
    sock.sendall(_trickle_head(rstack, rid) + b"{")
    trickling = 16.0  # longer than client_body_timeout (10 s): it bounds silences only
    started = time.monotonic()
    sent = 1
    while time.monotonic() - started < trickling:
        time.sleep(4)
        sock.sendall(b" ")
        sent += 1
        assert not closed_by_peer(sock), "a body still arriving was cut off"
    with Client(rstack) as other:
        assert other.get("/healthz").status_code == 200  # web is free meanwhile
    assert rid not in web_access(rstack), "web saw a request whose body hadn't arrived"

    silent_since = time.monotonic()
    wait_until(lambda: closed_by_peer(sock), 30, "nginx closing a silent body")
    sock.close()
    wait_until(lambda: rid in nginx_access(rstack), 5, "nginx logging the request")
    status, upstream = nginx_access(rstack)[rid]
    assert (status, upstream) == (408, "-")  # nginx's answer; web never saw it
    assert rid not in web_access(rstack)
    figure("trickled body still open after", f"{trickling:.0f} s ({sent} bytes, one every 4 s)")
    figure(
        "closed after falling silent",
        f"{time.monotonic() - silent_since:.1f} s (client_body_timeout 10s), status 408",
    )


def test_one_address_holds_at_most_64_slow_requests(rstack: Stack, figure: Figure) -> None:
    holder = address()
    held: list[socket.socket] = []
    try:
        for _ in range(64):
            sock = raw_socket(rstack, holder)
            sock.sendall(_trickle_head(rstack, request_id(), path="/readyz") + b"{")
            held.append(sock)
        time.sleep(0.5)  # every one is reading its body at nginx now
        assert not [s for s in held if closed_by_peer(s)]
        with Client(rstack, source=holder) as same, Client(rstack) as other:
            refused = same.get("/healthz")
            served = other.get("/healthz")
        assert_error_page(refused, 429)  # limit_conn's 429: nginx's styled page
        assert served.status_code == 200
    finally:
        for sock in held:
            sock.close()
    with Client(rstack, source=holder) as same:
        # Nobody stays locked out: the count drops as the connections close.
        wait_until(lambda: same.get("/healthz").status_code == 200, 10, "the address served again")
    figure("slow requests one address may hold", "64; the 65th got 429, another address 200")
