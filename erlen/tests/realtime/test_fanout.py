"""Fan-out writes ready frames, several per write: a strict client must parse them all.

The client is websockets' own, which validates every frame (RFC 6455 framing, UTF-8 text).
Each test runs once with each broker (memory and Redis).
"""

from __future__ import annotations

import typing as t

from test_server import client
from test_server import make_server
from test_server import recv
from test_server import running
from test_server import subscribe

from erlen.realtime.broker import Broker

BrokerFactory = t.Callable[..., Broker]
Runner = t.Callable[..., t.Any]


def test_events_of_every_frame_length_published_together_arrive_intact_in_order(
    make_broker: BrokerFactory, run: Runner
) -> None:
    broker = make_broker(max_event_size=128 * 1024)
    server = make_server(broker, max_message_size=128 * 1024)
    # Payload lengths around the 7-bit, 16-bit and 64-bit length encodings, non-ASCII
    # text included: one batch, so they share writes.
    sizes = [0, 50, 125, 126, 200, 65_535, 65_536, 100_000]
    texts = ["é" * (n // 2) if n % 4 == 0 else "x" * n for n in sizes]

    async def main() -> None:
        async with running(server), client(server, max_size=None) as ws, client(server) as other:
            await subscribe(ws, "board")
            await subscribe(ws, "other")
            await subscribe(other, "other")
            broker.publish_many(
                [("board", {"i": i, "text": text}) for i, text in enumerate(texts)]
                + [("other", {"i": -1})]
            )
            got: dict[str, list[dict[str, t.Any]]] = {}
            for _ in range(len(texts) + 1):
                frame = await recv(ws)
                got.setdefault(frame["channel"], []).append(frame)
            assert [f["i"] for f in got["board"]] == list(range(len(texts)))
            assert [f["text"] for f in got["board"]] == texts
            assert [f["seq"] for f in got["board"]] == list(range(1, len(texts) + 1))
            assert [f["i"] for f in got["other"]] == [-1]
            assert (await recv(other))["i"] == -1

    run(main())
