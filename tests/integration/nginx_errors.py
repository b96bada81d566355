"""What nginx answers itself (413, 429, 502, 503, 504) as the app answers its own errors.

nginx/templates/erlen.conf.template sends browsers a styled page (web/static/errors/error.html)
and API clients (paths under /api, or asking for JSON first) an RFC 9457 problem with the
members web's problems have (web/errors.py). The integration and reliability tiers check
both shapes with these helpers.
"""

from __future__ import annotations

import re
import typing as t

import httpx

#: The title of each status nginx answers itself: werkzeug's name, as web's problems use.
TITLES = {
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def assert_error_page(response: httpx.Response, status: int) -> None:
    """``response`` is nginx's styled page for ``status``: the app's stylesheet, no script,
    a CSP that allows none, and the request id in the header and on the page."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    page = response.text
    assert f"<h1>{status} {TITLES[status]}</h1>" in page, page
    assert f"<title>{status} {TITLES[status]} · " in page
    assert "<!--erlen:" not in page  # nginx filled in every marker
    assert '<link rel="stylesheet" href="/static/style.css">' in page
    assert "<script" not in page and not re.search(r"\son[a-z]+=", page)  # no inline script
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) >= 8
    assert f"Request id: <code>{request_id}</code>" in page


def assert_problem(response: httpx.Response, status: int, path: str) -> dict[str, t.Any]:
    """``response`` is nginx's problem+json for ``status`` at ``path``, shaped as web's
    (type, title, status, detail, instance); returns the problem."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    assert response.headers["X-Request-ID"]
    problem: dict[str, t.Any] = response.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == TITLES[status]
    assert problem["status"] == status
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem["instance"] == path
    if status == 429:
        assert problem["retry_after"] == int(response.headers["Retry-After"]) >= 1
    else:
        assert "retry_after" not in problem
    return problem
