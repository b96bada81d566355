"""R12–R15: websockets through nginx.

- R12 ``test_an_oversize_frame_closes_the_socket_with_1009``
- R13 ``test_handshakes_from_foreign_origins_or_without_a_session_are_refused``
- R14 ``test_a_slow_reader_is_dropped_and_nobody_else_loses_an_event``
- R15 ``test_one_address_opens_at_most_32_websockets``: nginx's 429 for the 33rd; other
  addresses, and the 32 already open, unaffected.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import typing as t

import pytest
from outside import address
from outside import Client
from outside import environ_for
from outside import Figure
from outside import ms
from outside import percentile
from outside import realtime_connections
from outside import receive
from outside import rss_kib
from outside import subscribe
from outside import wait_until
from stack import Stack
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect
from websockets.typing import Origin

MIB = 1024 * 1024


def realtime_rss(stack: Stack) -> int:
    return sum(rss_kib(p) for name, p in stack.processes.items() if name.startswith("realtime"))


def test_an_oversize_frame_closes_the_socket_with_1009(rstack: Stack, figure: Figure) -> None:
    before = realtime_rss(rstack)
    with Client(rstack) as visitor:
        visitor.open_board()
        with visitor.websocket() as ws:
            subscribe(ws)
            ws.send("x" * (2 * MIB))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    grown = realtime_rss(rstack) - before
    assert grown < 16 * 1024, f"realtime grew by {grown} KiB"
    figure("2 MiB frame", f"closed with {closed.value.rcvd.code}; realtime RSS {grown:+d} KiB")


def test_handshakes_from_foreign_origins_or_without_a_session_are_refused(
    rstack: Stack, figure: Figure
) -> None:
    def status(ws_options: dict[str, t.Any], cookie: str) -> int:
        try:
            with connect(rstack.ws_url, additional_headers={"Cookie": cookie}, **ws_options):
                pass
        except InvalidStatus as e:
            return e.response.status_code
        return 101

    with Client(rstack) as visitor:
        visitor.open_board()
        cookie = visitor.cookie_header()
    statuses = {
        "own origin": status({"origin": rstack.base_url}, cookie),
        "foreign origin": status({"origin": "https://evil.example"}, cookie),
        "no origin": status({}, cookie),
        "no session": status({"origin": rstack.base_url}, ""),
    }
    assert statuses == {
        "own origin": 101,
        "foreign origin": 403,
        "no origin": 403,
        "no session": 401,
    }
    figure("handshakes", statuses)


def test_one_address_opens_at_most_32_websockets(rstack: Stack, figure: Figure) -> None:
    crowded, elsewhere = address(), address()
    with Client(rstack, source=crowded) as visitor, contextlib.ExitStack() as sockets:
        visitor.open_board()
        opened = [sockets.enter_context(visitor.websocket()) for _ in range(32)]
        with pytest.raises(InvalidStatus) as refused, visitor.websocket():
            pass
        assert refused.value.response.status_code == 429
        with visitor.websocket(source=elsewhere) as other:
            # The 32 open ones still work: an event from another address reaches one.
            subscribe(opened[0])
            other.send(json.dumps({"type": "publish", "channel": "board", "event": "typing"}))
            receive(opened[0], lambda f: f.get("event") == "typing")
    with Client(rstack, source=crowded) as visitor:
        visitor.open_board()

        def reconnects() -> bool:
            try:
                with visitor.websocket():
                    pass
            except InvalidStatus:
                return False
            return True

        wait_until(reconnects, 10, "the address connecting again", interval=0.2)
    figure("websockets per address", "32 open; the 33rd got 429; another address connected")


def _slow_socket(stack: Stack, source: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few frames
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", stack.ports["nginx"]))
    return sock


@pytest.mark.timeout(180)
def test_a_slow_reader_is_dropped_and_nobody_else_loses_an_event(
    rstack: Stack, figure: Figure
) -> None:
    from web import events
    from web.app import create_app
    from web.extensions import publisher

    app = create_app(env=environ_for(rstack, "web"))
    pad = "p" * 32 * 1024
    events_sent = 400  # 12.5 MiB: more than the slow reader's buffers and max_send_buffer

    def publish(n: int, kind: str) -> None:
        with app.app_context():
            publisher.publish(events.BOARD_CHANNEL, kind, {"n": n, "at": time.time(), "pad": pad})

    with (
        Client(rstack) as fast_client,
        Client(rstack) as slow_client,
        contextlib.ExitStack() as sockets,
    ):
        fast_client.open_board()
        slow_client.open_board()
        fast = sockets.enter_context(fast_client.websocket())
        subscribe(fast)
        latencies: dict[str, list[float]] = {"before": [], "during": []}
        for n in range(20):  # the baseline, before any slow reader
            publish(n, "baseline")
            frame = receive(fast, lambda f: f.get("event") == "baseline")[-1]
            latencies["before"].append(time.time() - frame["data"]["at"])

        slow: ClientConnection = sockets.enter_context(
            connect(
                rstack.ws_url,
                sock=_slow_socket(rstack, slow_client.source),
                origin=Origin(rstack.base_url),
                additional_headers={"Cookie": slow_client.cookie_header()},
                max_queue=1,
                close_timeout=1,
            )
        )
        subscribe(slow)  # ... and never reads again
        connected = realtime_connections(rstack)
        rss_before = realtime_rss(rstack)

        received: list[int] = []

        def read_fast() -> None:
            while len(received) < events_sent:
                frame = json.loads(fast.recv(timeout=30))
                if frame.get("event") == "load":
                    received.append(frame["data"]["n"])
                    latencies["during"].append(time.time() - frame["data"]["at"])

        reader = threading.Thread(target=read_fast)
        reader.start()
        started = time.monotonic()
        rss_peak = rss_before
        for n in range(events_sent):
            publish(n, "load")
            if n % 20 == 0:
                rss_peak = max(rss_peak, realtime_rss(rstack))
            time.sleep(0.01)
        reader.join(60)
        wait_until(lambda: realtime_connections(rstack) < connected, 60, "the slow reader dropped")
        dropped_after = time.monotonic() - started
        rss_peak = max(rss_peak, realtime_rss(rstack))

    assert received == list(range(events_sent)), "the fast reader missed or reordered events"
    grown = rss_peak - rss_before
    assert grown < 64 * 1024, f"realtime grew by {grown} KiB with one slow reader"
    figure("events of 32 KiB broadcast", f"{events_sent}, all received in order by the fast reader")
    figure("slow reader dropped by", f"{dropped_after:.1f} s after the load began (at most)")
    figure("realtime RSS peak growth (2 replicas)", f"{grown} KiB")
    for phase, values in latencies.items():
        figure(
            f"fast reader latency {phase} (p50 / p99)",
            f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))}",
        )
