"""``GET /metrics`` on the realtime service's own port: this replica's websockets, in
Prometheus' text format. Each replica is a scrape target of its own.

- ``erlen_realtime_connections``: open websockets.
- ``erlen_realtime_channels``: channels with at least one subscriber here.
- ``erlen_realtime_subscriptions``: (connection, channel) subscriptions.
- ``erlen_realtime_messages_delivered_total``: event frames queued for subscribers by
  fan-out (one per subscriber per event; a subscriber that closes before the write is
  still counted).
- ``erlen_realtime_broker_up``: 1 while the broker's connection (Redis pub/sub) is up;
  ``erlen_realtime_broker_reconnects_total`` with Redis.

Answered before the websocket handshake, like ``/healthz``, and refused (404) to a request
that came through nginx, which sets ``X-Forwarded-For`` on what it passes to /ws: a client
can add that header but not remove it (see web/metrics.py). nginx never passes /metrics
here in the first place (only /ws).
"""

from __future__ import annotations

import typing as t

from erlen.realtime import RealtimeServer
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request
from websockets.http11 import Response

if t.TYPE_CHECKING:  # pragma: no cover
    from prometheus_client import Metric

PATH = "/metrics"
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


class _ServerCollector(Collector):
    def __init__(self, server: MetricsRealtimeServer) -> None:
        self.server = server

    def collect(self) -> t.Iterable[Metric]:
        server = self.server
        members = server._members
        yield GaugeMetricFamily(
            "erlen_realtime_connections", "Open websockets.", value=len(server._connections)
        )
        yield GaugeMetricFamily(
            "erlen_realtime_channels",
            "Channels with at least one subscriber on this replica.",
            value=len(members),
        )
        yield GaugeMetricFamily(
            "erlen_realtime_subscriptions",
            "Subscriptions (a connection on a channel) on this replica.",
            value=sum(len(m) for m in members.values()),
        )
        yield CounterMetricFamily(
            "erlen_realtime_messages_delivered",
            "Event frames fan-out queued for subscribers (one per subscriber per event).",
            value=server.delivered,
        )
        health = server.broker.health()
        yield GaugeMetricFamily(
            "erlen_realtime_broker_up",
            "Whether the broker (Redis pub/sub) is connected (1) or not (0).",
            value=1 if health.get("state") == "connected" else 0,
        )
        if "reconnects" in health:
            yield CounterMetricFamily(
                "erlen_realtime_broker_reconnects",
                "Times the broker reconnected to Redis.",
                value=health["reconnects"],
            )


class MetricsRealtimeServer(RealtimeServer):
    """The realtime server, also answering ``GET /metrics``.

    Counting deliveries costs one multiplication per channel per loop pass, not per
    subscriber: :meth:`_flush` is wrapped, not changed.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Event frames queued for subscribers since start (see the module).
        self.delivered = 0
        # A registry of its own, not prometheus_client's global one.
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_ServerCollector(self))

    def metrics(self) -> bytes:
        """What ``GET /metrics`` answers."""
        return generate_latest(self.registry)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.partition("?")[0] != PATH:
            return super()._process_request(connection, request)
        if any(name in request.headers for name in _PROXY_HEADERS):
            return connection.respond(404, "Not found.\n")
        response = connection.respond(200, self.metrics().decode())
        # websockets' Headers is a multidict: setting a header adds one.
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = CONTENT_TYPE_PLAIN_0_0_4
        response.headers["Cache-Control"] = "no-store"
        return response

    def _flush(self) -> None:
        members = self._members
        delivered = 0
        for channel, (frames, _seqs) in self._pending.items():
            subscribers = members.get(channel)
            if subscribers:
                delivered += len(frames) * len(subscribers)
        self.delivered += delivered
        super()._flush()
