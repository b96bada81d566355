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
from websockets.http11 import Request

if t.TYPE_CHECKING:  # pragma: no cover
    from prometheus_client import Metric

PATH = "/metrics"
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


class _ServerCollector(Collector):
    def __init__(self, server: RealtimeServer) -> None:
        self.server = server

    def collect(self) -> t.Iterable[Metric]:
        stats = self.server.stats()
        yield GaugeMetricFamily(
            "erlen_realtime_connections", "Open websockets.", value=stats["connections"]
        )
        yield GaugeMetricFamily(
            "erlen_realtime_channels",
            "Channels with at least one subscriber on this replica.",
            value=stats["channels"],
        )
        yield GaugeMetricFamily(
            "erlen_realtime_subscriptions",
            "Subscriptions (a connection on a channel) on this replica.",
            value=stats["subscriptions"],
        )
        yield CounterMetricFamily(
            "erlen_realtime_messages_delivered",
            "Event frames fan-out queued for subscribers (one per subscriber per event).",
            value=stats["delivered"],
        )
        health = self.server.broker.health()
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


def serve_metrics(server: RealtimeServer) -> None:
    """Answer ``GET /metrics`` on ``server``'s port (its ``http_routes``), from a registry
    of its own (not prometheus_client's global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ServerCollector(server))

    def metrics(request: Request) -> tuple[int, str, str]:
        if any(name in request.headers for name in _PROXY_HEADERS):
            return 404, "text/plain; charset=utf-8", "Not found.\n"
        return 200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(registry).decode()

    server.http_routes[PATH] = metrics
