"""Side-by-side realtime fan-out benchmark: erlen.realtime vs a bare websockets + Redis loop.

One run starts its own ``redis-server`` on a free port, both servers (each in its own
process), and ``--procs`` load processes holding ``--clients`` websocket clients per
server, spread over ``--rooms`` rooms. The load side is a minimal raw RFC 6455 client
(asyncio for the handshake, then one epoll per process reading every socket; no library,
no per-message task): it costs less CPU per message than the servers it measures, and
the summary shows both.

- **erlen**: :class:`erlen.realtime.RealtimeServer` on a ``RedisBroker``, with the real
  handshake checks (session cookie signed like web's, ``Origin``), each client sending a
  ``subscribe`` frame for its room.
- **lean**: ``websockets.asyncio.server.serve(compression=None)``, room from the path, one
  ``PSUBSCRIBE`` and ``websockets.broadcast`` of the Redis payload verbatim: the floor that
  research/realtime_bench.md measured.
- **bare**: the lean server, but each event is one ready frame sent straight to every
  member's socket (no websockets call, no state check): a measuring stick for the least a
  server that writes each event to each socket spends on this very workload (the same
  Redis reader, the same clients and wake-ups).
- **floor** (not a server): the same sends, at each step's rate, with no Redis and no
  websockets: one ``send()`` per member per event from a plain loop (see
  :func:`send_floor`).

Events (~150 B of JSON with the step and ``time.time()`` at publish) are published
round-robin over the rooms at a rising rate -- for erlen through its real path
(``RedisBroker.publish_many``: seq, replay window, PUBLISH), for the bare loop with plain
``PUBLISH`` in a pipeline; each step publishes for ``--duration``
seconds then drains. Steps alternate between the two servers (the order flips every step)
so drifting machine load hits both alike. Reported per server and step: delivered msg/s,
delivery ratio, server CPU µs per delivered message (the most noise-robust figure, read
from ``/proc``), p50/p99 publish→receive latency; per server: RSS KiB per idle connection
(meaningless below ~1,000 clients: RSS moves by pages), the connect-storm time and the
server CPU per connection. Then the ratios erlen / lean. First, the publisher alone:
events/s with ``publish()`` vs ``publish_many()``; and the subscriber alone: CPU per event
received with erlen's own parsing of the pub/sub connection vs redis-py's ``get_message()``.

    python erlen/bench/realtime.py                     # 1,000 clients, 10 rooms (the issue's)
    python erlen/bench/realtime.py --quick             # 100 clients, 4 rooms, short steps
    python erlen/bench/realtime.py --clients 2000 --rates 100,200,400 --json out.json

Linux only (``/proc``). Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve()
SECRET = "bench secret key"
ORIGIN = "http://bench.localhost"
PAD = "x" * 80
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
KEY_PREFIX = {"erlen": "be", "lean": "bl", "bare": "bb"}


# -- measuring processes ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def host_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, for the host load column."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# -- the servers (run as `realtime.py _serve KIND PORT REDIS_URL`) ----------------------------


def serve(kind: str, port: int, redis_url: str) -> None:
    if kind == "erlen":
        asyncio.run(_serve_erlen(port, redis_url))
    else:
        asyncio.run(_serve_lean(port, redis_url, bare=kind == "bare"))


async def _serve_erlen(port: int, redis_url: str) -> None:
    from erlen.realtime import RealtimeServer
    from erlen.realtime import RedisBroker
    from erlen.realtime import SessionCookieAuth

    broker = RedisBroker(redis_url, prefix=KEY_PREFIX["erlen"])
    server = RealtimeServer(
        broker=broker,
        auth=SessionCookieAuth(SECRET),
        allowed_origins=[ORIGIN],
        authorize=lambda session, channel: True,
        path="/ws",
    )
    await server.serve_forever("127.0.0.1", port)


async def _serve_lean(port: int, redis_url: str, bare: bool = False) -> None:
    """The bare websockets loop; with ``bare``, the same loop writing one ready frame per
    event straight to each member's socket (no websockets call, no per-member check)."""
    import redis.asyncio
    from websockets.asyncio.server import broadcast
    from websockets.asyncio.server import serve as ws_serve
    from websockets.asyncio.server import ServerConnection

    # A room's members, with the socket a bare server writes to (asyncio's, read from a
    # private attribute: this is a measuring stick, not a server).
    rooms: dict[bytes, dict[ServerConnection, t.Any]] = collections.defaultdict(dict)

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        room = ws.request.path.rsplit("/", 1)[-1].encode()
        members = rooms[room]
        members[ws] = getattr(ws.transport, "_sock", None)
        try:
            await ws.wait_closed()
        finally:
            members.pop(ws, None)

    def send_bare(members: dict[ServerConnection, t.Any], data: bytes) -> None:
        frame = _frame_header(len(data)) + data
        size = len(frame)
        for ws, sock in members.items():
            transport: t.Any = ws.transport
            if transport._buffer:
                transport.write(frame)
                continue
            try:
                sent = sock.send(frame)
            except BlockingIOError:
                sent = 0
            if sent != size:
                transport.write(frame[sent:])

    client = redis.asyncio.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    key = f"{KEY_PREFIX['bare' if bare else 'lean']}:room:".encode()
    await pubsub.psubscribe(key + b"*")
    cut = len(key) - len(b"room:")
    async with ws_serve(handler, "127.0.0.1", port, compression=None):
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "pmessage":
                members = rooms.get(message["channel"][cut:])
                if not members:
                    continue
                if bare:
                    send_bare(members, message["data"])
                else:
                    broadcast(members, message["data"], text=True)


def _frame_header(n: int) -> bytes:
    """An unmasked, final text frame's header for a payload of ``n`` bytes (RFC 6455)."""
    if n < 126:
        return struct.pack("!BB", 0x81, n)
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n)
    return struct.pack("!BBQ", 0x81, 127, n)


# -- the load side: raw RFC 6455 clients ------------------------------------------------------


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 section 5.3)."""
    mask = secrets.token_bytes(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return head + mask + masked


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[int, list[float]] = collections.defaultdict(list)


class RawClient(asyncio.Protocol):
    """One websocket client: handshake, optional subscribe, then timestamps every event."""

    def __init__(self, request: bytes, subscribe: bytes | None, stats: Stats) -> None:
        self.request = request
        self.subscribe = subscribe
        self.stats = stats
        self.buffer = bytearray()
        self.opened = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = t.cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed during setup: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.feed(data)

    def feed(self, data: bytes) -> None:
        """Take bytes from the server: the handshake's answer, then frames."""
        buffer = self.buffer
        buffer += data
        if not self.opened:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[:12])
            if not status.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            del buffer[: end + 4]
            self.opened = True
            if self.subscribe is None:
                self.ready.set_result(None)
            else:
                assert self.transport is not None
                self.transport.write(client_frame(1, self.subscribe))
        latencies = self.stats.latencies
        pos = 0
        size = len(buffer)
        while size - pos >= 2:
            opcode = buffer[pos] & 0x0F
            n = buffer[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                start = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + n
            if end > size:
                break
            payload = bytes(buffer[start:end])
            pos = end
            if opcode == 1:
                if payload.startswith(b'{"type":"subscribed"'):
                    if not self.ready.done():
                        self.ready.set_result(None)
                    continue
                if payload.startswith(b'{"type":"welcome"'):
                    continue
                # The step and timestamp, found rather than parsed: a full json.loads per
                # message made the load side cost more CPU than the server it measures,
                # and its queue showed up as the server's latency.
                at = payload.find(b'"st":')
                if at >= 0:
                    comma = payload.find(b",", at)
                    ts_at = payload.find(b'"ts":', comma)
                    ts_end = payload.find(b",", ts_at)
                    now = time.time()
                    step = int(payload[at + 5 : comma])
                    latencies[step].append(now - float(payload[ts_at + 5 : ts_end]))
            elif opcode == 9:  # ping: answer pong
                assert self.transport is not None
                self.transport.write(client_frame(10, payload))
            elif opcode == 8:
                assert self.transport is not None
                self.transport.close()
        del buffer[:pos]


class Receiver:
    """Reads every ready client socket of a load process on one wake-up.

    Once a client is set up, its transport stops reading and this reads the socket: one
    ``epoll`` registered with the event loop, then a plain ``recv`` per ready socket.
    Through asyncio each socket's data would cost a callback of the loop and a transport
    method or two: the load side would spend more CPU per message than the servers it
    measures (and its queue would count as their latency).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        import select

        self.epoll = select.epoll()
        self.clients: dict[int, tuple[socket.socket, RawClient]] = {}
        loop.add_reader(self.epoll.fileno(), self.drain)

    def adopt(self, client: RawClient) -> None:
        assert client.transport is not None
        client.transport.pause_reading()
        # A duplicate of the transport's socket, so asyncio's own stays as it was (it
        # still writes pongs and closes).
        fd = client.transport.get_extra_info("socket").fileno()
        sock = socket.socket(fileno=os.dup(fd))
        sock.setblocking(False)
        self.clients[sock.fileno()] = (sock, client)
        self.epoll.register(sock.fileno(), 0x001)  # EPOLLIN

    def drain(self) -> None:
        clients = self.clients
        for fd, _ in self.epoll.poll(0):
            sock, client = clients[fd]
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                client.feed(data)
            else:
                self.epoll.unregister(fd)
                del clients[fd]
                sock.close()

    def close(self) -> None:
        for sock, _ in self.clients.values():
            sock.close()
        self.clients.clear()
        self.epoll.close()


def handshake(path: str, cookie: str | None) -> bytes:
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: {ORIGIN}",
    ]
    if cookie is not None:
        lines.append(f"Cookie: session={cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def load_main(conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_load(conn))


async def _load(conn: multiprocessing.connection.Connection) -> None:
    loop = asyncio.get_running_loop()
    stats = {kind: Stats() for kind in KEY_PREFIX}
    clients: list[RawClient] = []
    receiver = Receiver(loop)
    done = asyncio.Event()

    async def connect(kind: str, port: int, rooms: list[int], cookie: str) -> int:
        failures = 0
        limit = asyncio.Semaphore(50)  # stay within the listen backlog

        async def one(room: int) -> None:
            nonlocal failures
            async with limit:
                if kind == "erlen":
                    request = handshake("/ws", cookie)
                    subscribe = json.dumps({"type": "subscribe", "channel": f"room:{room}"})
                    sub: bytes | None = subscribe.encode()
                else:
                    request, sub = handshake(f"/room/room:{room}", None), None
                try:
                    _, client = await loop.create_connection(
                        lambda: RawClient(request, sub, stats[kind]), "127.0.0.1", port
                    )
                    await asyncio.wait_for(client.ready, 30)
                    clients.append(client)
                    receiver.adopt(client)
                except Exception:
                    failures += 1

        await asyncio.gather(*(one(room) for room in rooms))
        return failures

    async def handle(command: tuple[t.Any, ...]) -> None:
        name = command[0]
        if name == "connect":
            conn.send(await connect(*command[1:]))
        elif name == "count":
            kind, step = command[1:]
            conn.send(len(stats[kind].latencies.get(step, ())))
        elif name == "take":
            kind, step = command[1:]
            conn.send(stats[kind].latencies.pop(step, []))
        elif name == "cpu":
            conn.send(cpu_seconds(os.getpid()))
        elif name == "close":
            receiver.close()
            for client in clients:
                if client.transport is not None:
                    client.transport.abort()
            conn.send(None)
            done.set()

    def readable() -> None:
        try:
            command = conn.recv()
        except EOFError:
            done.set()
            return
        task = loop.create_task(handle(command))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    tasks: set[asyncio.Task[None]] = set()
    loop.add_reader(conn.fileno(), readable)
    await done.wait()


class LoadPool:
    """The load processes, driven over pipes."""

    def __init__(self, procs: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(procs):
            parent, child = context.Pipe()
            process = context.Process(target=load_main, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def ask_all(self, *commands: tuple[t.Any, ...]) -> list[t.Any]:
        for pipe, command in zip(self.pipes, commands, strict=True):
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def broadcast(self, *command: t.Any) -> list[t.Any]:
        return self.ask_all(*([command] * len(self.pipes)))

    def close(self) -> None:
        try:
            self.broadcast("close")
        except (OSError, EOFError):
            pass
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()


# -- the orchestra ---------------------------------------------------------------------------


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH; the benchmark starts its own instance.")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", workdir, "--protected-mode", "no", "--client-output-buffer-limit"]
        + ["pubsub", "0", "0", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return process


def start_server(kind: str, port: int, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    # The server's log goes to a file: aborting a thousand clients at the end makes asyncio
    # warn once per socket.
    with log.open("wb") as f:
        process = subprocess.Popen(
            [sys.executable, str(HERE), "_serve", kind, str(port), redis_url],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    wait_port(port)
    return process


def session_cookie() -> str:
    import erlen

    app = erlen.Erlen("bench")
    app.secret_key = SECRET
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return t.cast(str, serializer.dumps({"user_id": 1}))


Publish = t.Callable[[list[tuple[int, dict[str, t.Any]]]], None]


def raw_publisher(client: t.Any, prefix: str) -> Publish:
    """The lean server's publisher: PUBLISH in a pipeline, nothing else."""

    def publish(batch: list[tuple[int, dict[str, t.Any]]]) -> None:
        pipe = client.pipeline(transaction=False)
        for room, event in batch:
            pipe.publish(f"{prefix}:room:{room}", json.dumps(event, separators=(",", ":")))
        pipe.execute()

    return publish


def erlen_publisher(broker: t.Any) -> Publish:
    """erlen's real publishing path: seq + replay window + PUBLISH, batched."""

    def publish(batch: list[tuple[int, dict[str, t.Any]]]) -> None:
        broker.publish_many([(f"room:{room}", event) for room, event in batch])

    return publish


def publish_step(
    publish: Publish, rooms: int, rate: float, duration: float, step: int
) -> list[int]:
    """Publish ``rate`` events/s for ``duration`` s, round-robin; return events per room."""
    sent = [0] * rooms
    total = 0
    start = time.monotonic()
    end = start + duration
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * rate) - total
        if due > 0:
            batch = []
            for _ in range(due):
                room = total % rooms
                event = {"event": "bench", "data": {"st": step, "ts": time.time(), "pad": PAD}}
                batch.append((room, event))
                sent[room] += 1
                total += 1
            publish(batch)
        time.sleep(0.002)
    return sent


def publisher_bench(redis_url: str, n: int) -> dict[str, float]:
    """Events/s publishing one by one vs in batches of 100, on erlen's broker (seq + log)."""
    from erlen.realtime import RedisBroker

    broker = RedisBroker(redis_url, prefix="bp", replay_size=256)
    event = {"event": "bench", "data": {"pad": PAD}}
    rates: dict[str, float] = {}
    try:
        broker.publish("warm", event)
        for name in ("publish", "publish_many", "publish", "publish_many"):
            started = time.perf_counter()
            if name == "publish":
                for i in range(n):
                    broker.publish(f"room:{i % 10}", event)
            else:
                for first in range(0, n, 100):
                    count = min(100, n - first)
                    broker.publish_many([(f"room:{i % 10}", event) for i in range(count)])
            rate = n / (time.perf_counter() - started)
            rates[name] = max(rates.get(name, 0.0), rate)  # best of two rounds
    finally:
        broker.close()
    print(
        f"publisher: publish() {rates['publish']:,.0f} events/s, publish_many(100)"
        f" {rates['publish_many']:,.0f} events/s = {rates['publish_many'] / rates['publish']:.1f}x",
        flush=True,
    )
    return rates


def _receiver_publisher(redis_url: str, prefix: str, n: int, go: t.Any) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    payload = json.dumps({"seq": 1, "event": "bench", "data": {"ts": 1.0, "pad": PAD}})
    go.wait()
    for first in range(0, n, 50):
        pipe = client.pipeline(transaction=False)
        for i in range(first, min(n, first + 50)):
            pipe.publish(f"{prefix}:room:{i % 10}", payload)
        pipe.execute()
        time.sleep(0.0005)
    client.close()


async def _receive_events(redis_url: str, prefix: str, n: int, raw: bool) -> float:
    """CPU seconds a RedisBroker spends receiving ``n`` events (publisher elsewhere)."""
    from erlen.realtime import RedisBroker

    broker = RedisBroker(redis_url, prefix=prefix)
    broker._fast_raw_pubsub = raw  # type: ignore[misc]  # over the class's decision
    received = 0
    done = asyncio.Event()

    def listener(channel: str, payload: bytes) -> None:
        nonlocal received
        received += 1
        if received == n:
            done.set()

    channels = [f"room:{i}" for i in range(10)]
    for channel in channels:
        broker.add_listener(channel, listener)
    await broker.start()
    for channel in channels:
        await broker.wait_ready(channel)
    go = multiprocessing.get_context("spawn").Event()
    publisher = multiprocessing.get_context("spawn").Process(
        target=_receiver_publisher, args=(redis_url, prefix, n, go), daemon=True
    )
    publisher.start()
    await asyncio.sleep(0.5)
    started = time.process_time()
    go.set()
    await asyncio.wait_for(done.wait(), 120)
    cpu = time.process_time() - started
    publisher.join(10)
    await broker.aclose()
    return cpu


def receiver_bench(redis_url: str, n: int) -> dict[str, float]:
    """CPU µs per event of erlen's pub/sub reader: its own RESP parsing vs redis-py's
    ``get_message()`` (the ``raw_pubsub`` fast path on and off), alternating, best of
    three each; events come in pipelined bursts from another process."""
    costs: dict[str, list[float]] = {"raw": [], "get_message": []}
    for round_ in range(3):
        for name in ("raw", "get_message"):
            cpu = asyncio.run(_receive_events(redis_url, f"br{round_}{name}", n, name == "raw"))
            costs[name].append(1e6 * cpu / n)
    best = {name: min(values) for name, values in costs.items()}
    print(
        f"receiver: {best['raw']:.1f} µs per event parsing the connection itself,"
        f" {best['get_message']:.1f} µs through get_message()"
        f" = {best['raw'] / best['get_message']:.2f}x",
        flush=True,
    )
    return best


def _floor_reader(port: int, n: int, ready: t.Any) -> None:
    import select

    sockets = {}
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        sockets[sock.fileno()] = sock
    epoll = select.epoll()
    for fd in sockets:
        epoll.register(fd, select.EPOLLIN)
    ready.set()
    while True:
        for fd, _ in epoll.poll(1):
            with contextlib.suppress(BlockingIOError):
                if not sockets[fd].recv(65536):
                    return


def send_floor(clients: int, rooms: int, procs: int, rate: float, seconds: float = 2.0) -> float:
    """Server CPU per delivered message with nothing but the write (µs).

    The workload's own pattern, without Redis or websockets: ``clients`` loopback sockets
    read by ``procs`` reader processes (epoll, as the load side does), in ``rooms``
    rooms; an event every ``1 / rate`` s, round-robin over the rooms, is one
    ``socket.send()`` of a ready 100-byte frame to each member. On loopback the sender's
    CPU includes the kernel's TCP receive path and waking the reader, so this is the
    least any server can spend per message while it writes each one to its socket on
    its own. It depends on the rate: the sparser the events, the more often a reader
    is asleep when a send arrives (and waking it is the sender's cost).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(clients + 16)
    port = listener.getsockname()[1]
    readers = []
    for n in range(procs):
        ready = multiprocessing.Event()
        share = clients // procs + (1 if n < clients % procs else 0)
        reader = multiprocessing.Process(
            target=_floor_reader, args=(port, share, ready), daemon=True
        )
        reader.start()
        readers.append((reader, ready))
    conns = [listener.accept()[0] for _ in range(clients)]
    for _, ready in readers:
        ready.wait(30)
    for conn in conns:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setblocking(False)
    members = [conns[room::rooms] for room in range(rooms)]
    frame = b"\x81\x62" + b"x" * 98
    events = max(rooms, int(rate * seconds))
    sent = 0
    started = time.process_time()
    due = time.monotonic()
    for event in range(events):
        for conn in members[event % rooms]:
            conn.send(frame)
        sent += len(members[event % rooms])
        due += 1 / rate
        time.sleep(max(0.0, due - time.monotonic()))
    cpu = time.process_time() - started
    for conn in conns:
        conn.close()
    listener.close()
    for reader, _ in readers:
        reader.join(5)
        if reader.is_alive():
            reader.kill()
    return 1e6 * cpu / sent


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def run_step(
    kind: str,
    pid: int,
    pool: LoadPool,
    publish: Publish,
    redis_pid: int,
    members: list[int],
    rate: float,
    duration: float,
    step: int,
) -> dict[str, t.Any]:
    busy0, total0 = host_busy()
    cpu0 = cpu_seconds(pid)
    redis0 = cpu_seconds(redis_pid)
    load0 = sum(pool.broadcast("cpu"))
    wall0 = time.monotonic()
    sent = publish_step(publish, len(members), rate, duration, step)
    expected = sum(n * m for n, m in zip(sent, members, strict=True))
    deadline = time.monotonic() + max(5.0, duration)
    delivered = 0
    while time.monotonic() < deadline:
        delivered = sum(pool.broadcast("count", kind, step))
        if delivered >= expected:
            break
        time.sleep(0.1)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(pid) - cpu0
    load_cpu = sum(pool.broadcast("cpu")) - load0
    redis_cpu = cpu_seconds(redis_pid) - redis0
    busy1, total1 = host_busy()
    latencies = sorted(x for part in pool.broadcast("take", kind, step) for x in part)
    delivered = len(latencies)
    return {
        "server": kind,
        "rate": rate,
        "published": sum(sent),
        "expected": expected,
        "delivered": delivered,
        "delivered_ratio": delivered / expected if expected else 1.0,
        "delivered_per_s": delivered / duration,
        "server_cpu_pct": 100 * cpu / wall,
        "cpu_us_per_msg": 1e6 * cpu / delivered if delivered else float("nan"),
        "load_cpu_pct": 100 * load_cpu / wall,
        "load_us_per_msg": 1e6 * load_cpu / delivered if delivered else float("nan"),
        "redis_cpu_pct": 100 * redis_cpu / wall,
        "host_busy_pct": 100 * (busy1 - busy0) / max(1, total1 - total0),
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * latencies[-1] if latencies else float("nan"),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="clients per server")
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--procs", type=int, default=2, help="load processes")
    parser.add_argument("--rates", default="50,100,200,300,400", help="publishes/s, rising")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument(
        "--max-p99-ms",
        type=float,
        default=1000,
        help="stop a server's ramp after a step with a worse p99 (or < 99 %% delivered)",
    )
    parser.add_argument(
        "--servers", default="lean,bare,erlen", help="which servers (lean, bare, erlen)"
    )
    parser.add_argument("--quick", action="store_true", help="100 clients, 4 rooms, short steps")
    parser.add_argument(
        "--publisher-events",
        type=int,
        default=3000,
        help="events for the publisher comparison (publish vs publish_many); 0 skips it",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=3.0,
        help="how long idle CPU is measured after connecting (keepalive pings go out every"
        " 20 s: use 41 to see two rounds)",
    )
    parser.add_argument(
        "--receiver-events",
        type=int,
        default=20000,
        help="events for the receiver comparison (own parsing vs get_message); 0 skips it",
    )
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip measuring the bare send() floor of CPU per message",
    )
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.rooms, args.rates, args.duration = 100, 4, "50,200", 2.0
        args.receiver_events = min(args.receiver_events, 5000)
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    rates = [float(r) for r in args.rates.split(",")]
    import redis

    workdir = tempfile.mkdtemp(prefix="erlen-bench-realtime-")
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    processes: list[subprocess.Popen[bytes]] = []
    pool: LoadPool | None = None
    erlen_broker: t.Any = None
    results: dict[str, t.Any] = {"config": vars(args), "servers": {}, "steps": []}
    try:
        redis_process = start_redis(redis_port, workdir)
        processes.append(redis_process)
        redis_client = redis.Redis.from_url(redis_url)
        if args.publisher_events:
            results["publisher"] = publisher_bench(redis_url, args.publisher_events)
        if args.receiver_events:
            results["receiver"] = receiver_bench(redis_url, args.receiver_events)
        if args.floor:
            floors = {
                rate: send_floor(args.clients, args.rooms, args.procs, rate) for rate in rates
            }
            results["floor_us_per_send"] = {str(rate): us for rate, us in floors.items()}
            print(
                "floor: one send() of a ready frame per member, nothing else, costs "
                + ", ".join(f"{us:.1f} µs at {rate:g} pub/s" for rate, us in floors.items())
                + " of sender CPU per message",
                flush=True,
            )
        from erlen.realtime import RedisBroker

        erlen_broker = RedisBroker(redis_url, prefix=KEY_PREFIX["erlen"])
        publishers = {
            "lean": raw_publisher(redis_client, KEY_PREFIX["lean"]),
            "bare": raw_publisher(redis_client, KEY_PREFIX["bare"]),
            "erlen": erlen_publisher(erlen_broker),
        }
        pool = LoadPool(args.procs)
        cookie = session_cookie()
        members = [0] * args.rooms
        assignments: list[list[int]] = [[] for _ in range(args.procs)]
        for n in range(args.clients):
            members[n % args.rooms] += 1
            assignments[n % args.procs].append(n % args.rooms)
        pids = {}
        for kind in kinds:
            port = free_port()
            process = start_server(kind, port, redis_url, Path(workdir) / f"{kind}.log")
            processes.append(process)
            pids[kind] = process.pid
            time.sleep(1.0)
            rss0 = rss_bytes(process.pid)
            cpu0 = cpu_seconds(process.pid)
            started = time.monotonic()
            failures = pool.ask_all(*(("connect", kind, port, a, cookie) for a in assignments))
            connect_s = time.monotonic() - started
            connect_cpu = cpu_seconds(process.pid) - cpu0
            time.sleep(1.0)  # let the handshakes' garbage settle
            idle0 = cpu_seconds(process.pid)
            time.sleep(args.idle_seconds)
            idle_cpu = (cpu_seconds(process.pid) - idle0) / args.idle_seconds
            rss1 = rss_bytes(process.pid)
            if sum(failures):
                sys.exit(f"{kind}: {sum(failures)} of {args.clients} clients failed to connect.")
            info = {
                "rss_idle_mib": rss0 / 2**20,
                "rss_connected_mib": rss1 / 2**20,
                "kib_per_connection": (rss1 - rss0) / 1024 / args.clients,
                "connect_s": connect_s,
                "connect_cpu_us": 1e6 * connect_cpu / args.clients,
                "idle_cpu_pct": 100 * idle_cpu,
            }
            results["servers"][kind] = info
            print(
                f"{kind:>5}: {args.clients} clients connected in {connect_s:.2f} s"
                f" ({info['connect_cpu_us']:.0f} µs server CPU each);"
                f" RSS {info['rss_idle_mib']:.1f} -> {info['rss_connected_mib']:.1f} MiB"
                f" = {info['kib_per_connection']:.1f} KiB/connection;"
                f" idle {info['idle_cpu_pct']:.1f} % CPU",
                flush=True,
            )
        stopped: set[str] = set()
        for step, rate in enumerate(rates):
            order = kinds if step % 2 == 0 else kinds[::-1]
            for kind in order:
                if kind in stopped:
                    continue
                row = run_step(
                    kind,
                    pids[kind],
                    pool,
                    publishers[kind],
                    redis_process.pid,
                    members,
                    rate,
                    args.duration,
                    step,
                )
                results["steps"].append(row)
                print(format_row(row), flush=True)
                if row["delivered_ratio"] < 0.99 or row["p99_ms"] > args.max_p99_ms:
                    stopped.add(kind)
        print()
        print(summary(results, kinds))
    finally:
        if erlen_broker is not None:
            erlen_broker.close()
        # Servers first: closing the clients under a backlog only makes them log.
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if pool is not None:
            pool.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def format_row(row: dict[str, t.Any]) -> str:
    return (
        f"{row['server']:>5} {row['rate']:>6.0f} pub/s: {row['delivered_per_s']:>8.0f} msg/s"
        f" ({100 * row['delivered_ratio']:.1f} %), server {row['server_cpu_pct']:5.1f} % CPU"
        f" = {row['cpu_us_per_msg']:5.1f} µs/msg, p50 {row['p50_ms']:7.1f} ms,"
        f" p99 {row['p99_ms']:7.1f} ms | load {row['load_cpu_pct']:.0f} %,"
        f" redis {row['redis_cpu_pct']:.0f} %, host {row['host_busy_pct']:.0f} %"
    )


def summary(results: dict[str, t.Any], kinds: list[str]) -> str:
    lines = []
    servers = results["servers"]
    if "erlen" not in kinds or "lean" not in kinds:
        return "(one server only: no ratios)"
    e, b = servers["erlen"], servers["lean"]
    lines.append("ratios erlen / lean (lower is better):")
    memory = e["kib_per_connection"] / b["kib_per_connection"]
    lines.append(f"  KiB per idle connection: {memory:.2f}")
    lines.append(f"  connect storm time:      {e['connect_s'] / b['connect_s']:.2f}")
    lines.append(
        f"  server CPU per connect:  {e['connect_cpu_us'] / b['connect_cpu_us']:.2f}"
        " (erlen's includes the subscribe round trip: lean has none)"
    )
    by_rate: dict[float, dict[str, dict[str, t.Any]]] = collections.defaultdict(dict)
    for row in results["steps"]:
        by_rate[row["rate"]][row["server"]] = row
    cpu_ratios = []
    for rate, rows in by_rate.items():
        if len(rows) < 2:
            continue
        re_, rb = rows["erlen"], rows["lean"]
        ratio = re_["cpu_us_per_msg"] / rb["cpu_us_per_msg"]
        cpu_ratios.append(ratio)
        lines.append(
            f"  {rate:>5.0f} pub/s: CPU/msg {ratio:.2f} ({re_['cpu_us_per_msg']:.1f} vs"
            f" {rb['cpu_us_per_msg']:.1f} µs), p50 {re_['p50_ms']:.1f} vs {rb['p50_ms']:.1f} ms,"
            f" p99 {re_['p99_ms']:.1f} vs {rb['p99_ms']:.1f} ms"
        )
    if cpu_ratios:
        lines.append(f"  median CPU/msg ratio over steps: {statistics.median(cpu_ratios):.2f}")
    if "bare" in kinds:
        # The same workload with nothing but one ready frame sent per member: what any
        # server that writes each event to each socket on its own spends at least.
        to_bare, bare_to_lean = [], []
        for rows in by_rate.values():
            if {"bare", "erlen", "lean"} <= rows.keys():
                bare = rows["bare"]["cpu_us_per_msg"]
                to_bare.append(rows["erlen"]["cpu_us_per_msg"] / bare)
                bare_to_lean.append(bare / rows["lean"]["cpu_us_per_msg"])
        if to_bare:
            lines.append(
                f"  bare sends (same reader, one ready frame per member, no checks):"
                f" bare / lean = {statistics.median(bare_to_lean):.2f},"
                f" erlen / bare = {statistics.median(to_bare):.2f} (medians over steps)"
            )
    # The measuring side must stay cheaper than what it measures, or its own queue shows
    # up as the servers' latency.
    load = [r["load_us_per_msg"] for r in results["steps"]]
    served = [r["cpu_us_per_msg"] for r in results["steps"]]
    if load and served:
        lines.append(
            f"  load side: {statistics.median(load):.1f} µs CPU per received message"
            f" (median over steps; the servers: {statistics.median(served):.1f} µs per sent one)"
        )
    floors = results.get("floor_us_per_send") or {}
    to_lean, erlen_to_floor = [], []
    for rate, rows in by_rate.items():
        floor = floors.get(str(rate))
        if floor and {"erlen", "lean"} <= rows.keys():
            to_lean.append(floor / rows["lean"]["cpu_us_per_msg"])
            erlen_to_floor.append(rows["erlen"]["cpu_us_per_msg"] / floor)
    if to_lean:
        lines.append(
            f"  the write alone (send() floor at each step's rate) is"
            f" {min(to_lean):.2f}–{max(to_lean):.2f}× lean's CPU/msg (median"
            f" {statistics.median(to_lean):.2f}): no server writing each message on its own"
            f" goes lower; erlen = {statistics.median(erlen_to_floor):.2f}× the floor (median)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
