"""``GET /metrics``: this web process's metrics, in Prometheus' text format.

Each web process (one granian process per container, docker-compose.yml's ``web``) counts
its own requests, so each replica is a scrape target of its own: Prometheus adds the
replicas up (``sum by (endpoint) (rate(erlen_http_requests_total[5m]))``). What it reports:

- ``erlen_http_requests_total{endpoint, method, status}``: requests answered. ``endpoint``
  is the URL rule's endpoint name (``board.index``), never the path, so the label has as
  many values as the app has routes; a request no rule matched (a 404, a 405) counts under
  ``endpoint="(none)"``. ``method`` is one of the standard methods or ``OTHER``: clients
  may send any token there.
- ``erlen_http_request_duration_seconds{endpoint}``: a histogram of the time from the
  request reaching the app to its response being ready.
- With a Redis job broker (``BROKER_URL=redis://...``), read from Redis at scrape time:
  ``erlen_jobs_queued{queue}`` (waiting for a worker), ``erlen_jobs_delayed{queue}``
  (retries and delayed jobs not yet due) and ``erlen_jobs_dead_letters{queue}`` (failed
  for good: ``erlen jobs failed``, the admin's failed jobs page), for every declared
  queue and every queue holding dead letters.
- ``erlen_outbox_pending`` and ``erlen_outbox_oldest_pending_seconds``: the outbox rows
  waiting for delivery (an indexed count).
- ``erlen_dependency_up{dependency}``: 1 if the scrape could read that dependency
  (``jobs_broker``, ``database``), else 0 and that dependency's metrics left out. A scrape
  never fails because a dependency is down; each read is bounded by
  ``METRICS_REDIS_TIMEOUT`` seconds (default 1) for Redis.
- ``process_*``: the process's CPU, memory and open files (prometheus_client's).

Counting a request costs two dictionary lookups and two increments under a lock
(prometheus_client's); nothing per request talks to Redis or the database.

Inside the stack only: nginx answers 404 for ``/metrics`` (nginx/templates/), and this app
refuses it too (404) to a request that came through a proxy, see :class:`MetricsMiddleware`.
"""

from __future__ import annotations

import logging
import time
import typing as t

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name
from erlen import Erlen
from erlen import request
from erlen.wrappers import Response
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import generate_latest
from prometheus_client import Histogram
from prometheus_client import ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from .extensions import jobs
from .extensions import outbox

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment
    from prometheus_client import Metric

log = logging.getLogger(__name__)

PATH = "/metrics"
#: Where the middleware notes when the request reached the app (for the histogram).
_STARTED = "web.metrics.started"
# WSGI keys, named: a literal in environ.get() reads like an environment variable to
# tests/integration/test_compose_agreement.py.
_PATH_INFO, _METHOD = "PATH_INFO", "REQUEST_METHOD"
#: The ``endpoint`` of a request no URL rule matched.
NO_ENDPOINT = "(none)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Request headers that only a proxy in front of web adds (nginx sets X-Forwarded-For).
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def dependency_up(dependency: str, up: bool) -> GaugeMetricFamily:
    """``erlen_dependency_up{dependency}``: whether this scrape could read it (merged into
    one family by :class:`_UpMerger`)."""
    family = GaugeMetricFamily(
        "erlen_dependency_up",
        "Whether this scrape could read the dependency (1) or not (0).",
        labels=["dependency"],
    )
    family.add_metric([dependency], 1 if up else 0)
    return family


class JobsCollector(Collector):
    """The job queues' gauges, read from the Redis broker when scraped."""

    def __init__(self, app: Erlen, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self._client: redis.Redis | None = None

    def client(self) -> redis.Redis:
        """A client of its own with a short timeout (the broker's waits up to 5 s)."""
        if self._client is None:
            self._client = redis.Redis.from_url(
                self.app.config["BROKER_URL"],
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
            )
        return self._client

    def collect(self) -> t.Iterable[Metric]:
        state = jobs.state(self.app)
        broker = state.broker
        if not isinstance(broker, RedisBroker):
            return  # the in-memory broker: nothing another process could see
        try:
            counts = self._read(
                broker.namespace, {q_name(a.queue_name) for a in state.actors.values()}
            )
        except Exception as e:  # a scrape reports what it can
            log.warning("metrics: reading the job queues failed: %s", type(e).__name__)
            yield dependency_up("jobs_broker", False)
            return
        yield dependency_up("jobs_broker", True)
        for name, documentation, index in (
            ("erlen_jobs_queued", "Jobs waiting for a worker, per queue.", 0),
            ("erlen_jobs_delayed", "Delayed jobs and retries not yet due, per queue.", 1),
            ("erlen_jobs_dead_letters", "Jobs that failed for good, per queue.", 2),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["queue"])
            for queue, values in sorted(counts.items()):
                family.add_metric([queue], values[index])
            yield family

    def _read(self, namespace: str, declared: set[str]) -> dict[str, list[int]]:
        """queue -> [queued, delayed, dead letters], in two round trips.

        Dramatiq's Redis layout (dramatiq/brokers/redis/dispatch.lua): a queue's waiting
        message ids are the list ``{ns}:{queue}``, its delay queue's bodies the hash
        ``{ns}:{queue}.DQ.msgs``, and its dead letters the sorted set ``{ns}:{queue}.XQ``
        (erlen.ext.jobs.deadletters). The queues holding dead letters are found by their
        keys, as ``erlen jobs failed`` finds them.
        """
        client = self.client()
        prefix = f"{namespace}:"
        dead_keys: dict[str, list[str]] = {}
        for key in client.scan_iter(match=f"{prefix}*.XQ", count=1000):
            name = key.decode()[len(prefix) : -len(".XQ")]
            dead_keys.setdefault(q_name(name), []).append(key.decode())
        queues = sorted(declared | dead_keys.keys())
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(f"{prefix}{queue}")
            pipe.hlen(f"{prefix}{queue}.DQ.msgs")
            for key in dead_keys.get(queue, ()):
                pipe.zcard(key)
        replies = iter(pipe.execute())
        counts: dict[str, list[int]] = {}
        for queue in queues:
            queued, delayed = int(next(replies)), int(next(replies))
            dead = sum(int(next(replies)) for _ in dead_keys.get(queue, ()))
            counts[queue] = [queued, delayed, dead]
        return counts


class OutboxCollector(Collector):
    """The outbox's backlog, counted when scraped (one indexed query)."""

    def __init__(self, app: Erlen) -> None:
        self.app = app

    def collect(self) -> t.Iterable[Metric]:
        try:
            pending, oldest = outbox.backlog(self.app)
        except Exception as e:  # a scrape reports what it can
            log.warning("metrics: counting the outbox failed: %s", type(e).__name__)
            yield dependency_up("database", False)
            return
        yield dependency_up("database", True)
        yield GaugeMetricFamily(
            "erlen_outbox_pending", "Outbox rows waiting for delivery.", value=pending
        )
        yield GaugeMetricFamily(
            "erlen_outbox_oldest_pending_seconds",
            "Age of the oldest outbox row waiting for delivery (0: none waits).",
            value=oldest or 0.0,
        )


class _UpMerger(Collector):
    """Runs the scrape-time collectors and merges their ``erlen_dependency_up`` families
    into one: the text format allows a metric's name once per scrape."""

    def __init__(self, collectors: t.Sequence[Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> t.Iterable[Metric]:
        up: Metric | None = None
        rest: list[Metric] = []
        for collector in self.collectors:
            for family in collector.collect():
                if family.name != "erlen_dependency_up":
                    rest.append(family)
                elif up is None:
                    up = family
                else:
                    up.samples.extend(family.samples)
        if up is not None:
            yield up
        yield from rest


class Metrics:
    """One app's metrics, in a registry of its own (not prometheus_client's global one:
    every app a test builds has its own counts)."""

    def __init__(self, app: Erlen) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "erlen_http_requests",
            "HTTP requests answered, by endpoint (the URL rule's name), method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "erlen_http_request_duration_seconds",
            "Time to answer an HTTP request, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        timeout = float(app.config.get("METRICS_REDIS_TIMEOUT", 1.0))
        self.registry.register(_UpMerger([JobsCollector(app, timeout), OutboxCollector(app)]))
        ProcessCollector(registry=self.registry)

    def observe(self, endpoint: str, method: str, status: int, seconds: float | None) -> None:
        self.requests.labels(endpoint, method if method in _METHODS else "OTHER", status).inc()
        if seconds is not None:
            self.duration.labels(endpoint).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Answers ``GET /metrics`` before the app, and notes when each other request started.

    /metrics is answered here rather than by a view so that a scraper needs nothing a
    browser's request needs: no session, no CSRF, and no ``Host`` from ``TRUSTED_HOSTS``
    (Prometheus sends the target's address, ``web:8000`` or a pod's IP, as the host; the
    metrics don't depend on the host, so nothing is spoofed by that).

    Refused with 404 to a request carrying a proxy's forwarding header: nginx sets
    ``X-Forwarded-For`` on everything it passes to web, and a client can add that header
    but never remove it, so its presence marks a request from outside the stack, whether
    or not ``TRUSTED_PROXIES`` is configured. (``request.remote_addr`` could not tell:
    without TRUSTED_PROXIES it is nginx's address, as inside as a scraper's.) This is the
    second line; the first is nginx answering 404 for /metrics itself.
    """

    def __init__(self, wsgi_app: WSGIApplication, metrics: Metrics) -> None:
        self.wsgi_app = wsgi_app
        self.metrics = metrics

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if environ.get(_PATH_INFO) != PATH:
            environ[_STARTED] = time.perf_counter()
            return self.wsgi_app(environ, start_response)
        headers = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
        if any(name in environ for name in _PROXY_HEADERS):
            body = b"Not found.\n"
            status = "404 Not Found"
        elif environ.get(_METHOD) not in ("GET", "HEAD"):
            body = b"Method not allowed.\n"
            status = "405 Method Not Allowed"
            headers.append(("Allow", "GET, HEAD"))
        else:
            body = self.metrics.exposition()
            start_response(
                "200 OK",
                [
                    *headers,
                    ("Content-Type", CONTENT_TYPE_PLAIN_0_0_4),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [b""] if environ[_METHOD] == "HEAD" else [body]
        headers += [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        start_response(status, headers)
        return [body]


def init_metrics(app: Erlen) -> Metrics:
    """Count every request of ``app`` and answer ``GET /metrics`` (see the module)."""
    metrics = Metrics(app)
    app.extensions["metrics"] = metrics
    app.wsgi_app = MetricsMiddleware(app.wsgi_app, metrics)  # type: ignore[method-assign]

    @app.after_request
    def count_request(response: Response) -> Response:
        rule = request.url_rule
        started = request.environ.get(_STARTED)
        metrics.observe(
            rule.endpoint if rule is not None else NO_ENDPOINT,
            request.method,
            response.status_code,
            time.perf_counter() - started if started is not None else None,
        )
        return response

    return metrics
