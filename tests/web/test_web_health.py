"""Liveness and readiness."""

from __future__ import annotations

import typing as t
from pathlib import Path

from erlen.ext.migrate import downgrade

from web.app import create_app


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
    assert response.json["checks"]["database"].startswith("error")
