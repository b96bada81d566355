"""``GET /metrics`` (web/metrics.py): request counts and latencies by endpoint, dependency
gauges that never turn a scrape into a 500, refused through a proxy."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

from erlen import Erlen
from erlen.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from web.app import create_app

# One sample line of the text format (0.0.4): name, optional labels, value, no timestamp.
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    rf"[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{{{_LABEL}(?:,{_LABEL})*\}})? "
    r"(?:[-+]?[0-9.]+(?:e[-+]?[0-9]+)?|NaN|[-+]Inf)"
)


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    text = response.get_data(as_text=True)
    check_format(text)
    return text


def check_format(text: str) -> None:
    """Strict: every line a HELP, a TYPE or a sample; each metric's TYPE once, before its
    samples; and prometheus_client's parser reads it all."""
    assert text.endswith("\n")
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert name not in typed, f"TYPE {name} twice"
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}
            typed.add(name)
            continue
        assert _SAMPLE.fullmatch(line), f"not a sample line: {line!r}"
        name = line.split("{")[0].split(" ")[0]
        assert any(name == t or name.startswith(t + "_") for t in typed), f"untyped: {line!r}"
    list(text_string_to_metric_families(text))


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name{labels}``, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_a_request_moves_its_count_and_histogram(client: FlaskClient) -> None:
    before = scrape(client)
    assert (
        value(
            before,
            "erlen_http_requests_total",
            endpoint="health.healthz",
            method="GET",
            status="200",
        )
        is None
    )
    client.get("/healthz")
    client.get("/healthz")
    after = scrape(client)
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    assert value(after, "erlen_http_requests_total", **labels) == 2
    assert value(after, "erlen_http_request_duration_seconds_count", endpoint="health.healthz") == 2
    assert (
        value(
            after,
            "erlen_http_request_duration_seconds_bucket",
            endpoint="health.healthz",
            le="+Inf",
        )
        == 2
    )
    assert (
        value(
            after,
            "erlen_http_request_duration_seconds_bucket",
            endpoint="health.healthz",
            le="10.0",
        )
        == 2
    )
    assert (
        value(after, "erlen_http_request_duration_seconds_sum", endpoint="health.healthz") or 0
    ) > 0
    # Scrapes themselves aren't requests of the app.
    assert "/metrics" not in after


def test_the_label_is_the_endpoint_never_the_path(client: FlaskClient) -> None:
    client.get("/no/such/page/8f3a1c")
    client.get("/another/unknown/path")
    client.open("/healthz", method="BREW")  # any token is a method: not a label value
    text = scrape(client)
    assert "8f3a1c" not in text and "unknown" not in text and "BREW" not in text
    assert (
        value(text, "erlen_http_requests_total", endpoint="(none)", method="GET", status="404") == 2
    )
    assert (
        value(text, "erlen_http_requests_total", endpoint="(none)", method="OTHER", status="405")
        == 1
    )
    endpoints = {
        s.labels["endpoint"]
        for f in text_string_to_metric_families(text)
        if f.name == "erlen_http_requests"
        for s in f.samples
    }
    rules = {rule.endpoint for rule in client.application.url_map.iter_rules()}
    assert "(none)" in endpoints and endpoints <= rules | {"(none)"}


def test_a_rule_with_variables_counts_under_its_endpoint(client: FlaskClient) -> None:
    client.get("/rooms/no-such-room")
    text = scrape(client)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    labels = [
        s.labels for s in families["erlen_http_requests"].samples if s.name.endswith("_total")
    ]
    assert labels and all("no-such-room" not in v for label in labels for v in label.values())
    assert any(label["endpoint"].startswith("rooms.") for label in labels)


def test_each_app_has_its_own_counts(
    app: Erlen, tmp_path: Path, make_env: t.Callable[..., dict[str, str]]
) -> None:
    app.test_client().get("/healthz")
    other = create_app({"TESTING": True}, env=make_env(tmp_path / "other"))
    text = scrape(other.test_client())
    assert (
        value(
            text, "erlen_http_requests_total", endpoint="health.healthz", method="GET", status="200"
        )
        is None
    )


def test_refused_through_a_proxy(client: FlaskClient) -> None:
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        response = client.get("/metrics", headers={header: "203.0.113.9"})
        assert response.status_code == 404, header
        assert b"erlen_" not in response.data
    assert client.post("/metrics").status_code == 405
    head = client.head("/metrics")
    assert head.status_code == 200 and head.data == b""
    # Only the exact path: the rest is the app's (a 404 of its own).
    assert client.get("/metrics/").status_code == 404


def test_the_in_memory_broker_has_no_job_gauges(client: FlaskClient) -> None:
    text = scrape(client)
    assert value(text, "erlen_dependency_up", dependency="database") == 1
    assert value(text, "erlen_dependency_up", dependency="jobs_broker") is None
    assert "erlen_jobs_queued" not in text
    assert value(text, "erlen_outbox_pending") == 0


def test_redis_and_the_database_down_are_reported_not_a_500(
    tmp_path: Path, make_env: t.Callable[..., dict[str, str]]
) -> None:
    env = make_env(
        tmp_path,
        BROKER_URL="redis://127.0.0.1:1/0",
        DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    app = create_app({"TESTING": True}, env=env)
    try:
        text = scrape(app.test_client())
    finally:
        from web.extensions import jobs

        jobs.state(app).close()
    assert value(text, "erlen_dependency_up", dependency="jobs_broker") == 0
    assert value(text, "erlen_dependency_up", dependency="database") == 0
    assert "erlen_jobs_queued" not in text and "erlen_outbox_pending" not in text
    assert value(text, "process_cpu_seconds_total") is not None
