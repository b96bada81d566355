"""Liveness and readiness of the web service, for the orchestrator (compose health checks,
Kubernetes probes, load balancers)."""

from __future__ import annotations

from erlen import Blueprint
from erlen import current_app
from erlen import jsonify
from erlen.ext.migrate import migration_state
from erlen.typing import ResponseReturnValue
from sqlalchemy import text

from ..extensions import db
from ..extensions import publisher

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: the process answers. Checks nothing else, so it never flaps with a dependency."""
    return {"status": "ok"}


def readiness_checks() -> dict[str, str]:
    """Each dependency's state: ``"ok"``, or why not. Needs an app context."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = f"error: {type(e).__name__}"
    try:
        publisher.ping()
        checks["redis"] = "ok"
    except Exception as e:
        checks["redis"] = f"error: {type(e).__name__}"
    try:
        # A database a newer release already migrated is fine (expand/contract, see
        # docs/deploy.md): old replicas stay ready while the new ones roll out.
        checks["migrations"] = "behind head" if migration_state(current_app) == "behind" else "ok"
    except Exception as e:
        checks["migrations"] = f"error: {type(e).__name__}"
    return checks


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: Postgres answers ``SELECT 1``, Redis answers ``PING``, migrations are not behind."""
    checks = readiness_checks()
    ready = all(value == "ok" for value in checks.values())
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    return response
