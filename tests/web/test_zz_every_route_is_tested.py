"""Every route of the app is requested by the web tier at least once with success and once
with a client error (not signed in, not allowed, unknown id, invalid input; for a page, a
visitor sent to log in counts) — and none of them ever answered 500. Runs last in tests/web
(hence the name), over what the tier's requests reached (tests/web/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from erlen import Erlen
from served_routes import SENT_TO_LOGIN
from served_routes import SERVED

HERE = Path(__file__).resolve().parent
#: Endpoints with no client error to give, and why.
NO_CLIENT_ERROR = {
    "static": "a file or a 404, nothing more to it",
    "admin.static": "as static",
    "health.healthz": "liveness: always 200",
    "health.readyz": "its unhappy answer is a 503 (tests/web/test_web_health.py)",
    "board.favicon": "a file",
    "board.index": "the public board: no input, nobody refused",
    "api.board_presence": "who is on the public board: no input, nobody refused",
    "api_v1_openapi": "the public API document",
    "api_v1_docs": "the public API docs page",
    "api_v1_docs_static": "the docs page's files",
}


def _whole_tier_ran(session: pytest.Session) -> bool:
    ran = {Path(str(item.path)) for item in session.items}
    return all(path in ran for path in HERE.glob("test_*.py"))


def test_every_route_answered_success_and_a_client_error_and_never_500(
    request: pytest.FixtureRequest, app: Erlen
) -> None:
    if not _whole_tier_ran(request.session):
        pytest.skip("only meaningful when the whole of tests/web runs")
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    never = sorted(e for e in endpoints if e not in SERVED)
    no_success = sorted(e for e in endpoints if e in SERVED and min(SERVED[e]) >= 400)
    no_client_error = sorted(
        e
        for e in endpoints - NO_CLIENT_ERROR.keys()
        if e not in SENT_TO_LOGIN and not any(400 <= s < 500 for s in SERVED.get(e, ()))
    )
    # (Tests add routes of their own that fail on purpose: only the app's count.)
    server_errors = {e: sorted(s) for e, s in SERVED.items() if e in endpoints and 500 in s}
    assert (never, no_success, no_client_error, server_errors) == ([], [], [], {}), (
        f"never requested: {never}\nnever a success: {no_success}\n"
        f"never a client error: {no_client_error}\n500s: {server_errors}"
    )
