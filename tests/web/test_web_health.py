"""Liveness and readiness."""

from __future__ import annotations

import threading
import typing as t
from pathlib import Path

from erlen import Erlen
from erlen.ext.migrate import downgrade
from werkzeug.serving import make_server

from web.app import create_app
from web.health.probe import probe
from web.health.probe import probe_host


def test_healthz_is_always_ok(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_each_check(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}


def test_readyz_is_503_until_migrations_reach_head(app) -> None:  # type: ignore[no-untyped-def]
    downgrade(app, "base")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == "behind head"


def test_readyz_is_503_when_the_database_is_unreachable(
    tmp_path: Path, make_env: t.Callable[..., dict[str, str]]
) -> None:
    env = make_env(tmp_path, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app({"TESTING": True}, env=env)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"]["database"].startswith("error")


def test_the_probe_presents_the_first_trusted_host() -> None:
    assert probe_host({}) is None
    assert probe_host({"TRUSTED_HOSTS": ""}) is None
    assert probe_host({"TRUSTED_HOSTS": " board.example , 127.0.0.1"}) == "board.example"
    assert probe_host({"TRUSTED_HOSTS": ".example.org"}) == "example.org"


def test_the_container_probe_passes_with_trusted_hosts_set(app: Erlen) -> None:
    # Compose probes http://127.0.0.1:8000/readyz inside the container; with only the public
    # name trusted, web would answer 400 to that Host, and never turn healthy.
    app.config["TRUSTED_HOSTS"] = ["board.example"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/readyz"
        assert probe(url)[0] is False  # as 127.0.0.1: refused
        healthy, reason = probe(url, host=probe_host({"TRUSTED_HOSTS": "board.example"}))
        assert healthy, reason
    finally:
        server.shutdown()
        thread.join(5)
