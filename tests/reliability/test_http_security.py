"""R5–R9, R11: what a browser-facing HTTP client can't do through nginx.

- R5 ``test_a_spoofed_host_is_refused_and_never_echoed``
- R6 ``test_session_tamper_fixation_and_replay_after_logout``
- R7 ``test_every_response_that_reads_the_session_varies_on_cookie``
- R8 ``test_state_changing_requests_need_the_sessions_csrf_token``
- R9 ``test_security_headers_on_pages_and_static_files_and_cookie_flags``
- R11 ``test_no_debugger_is_reachable`` and, pending branch ``proxy``,
  ``test_production_refuses_debug_and_weak_secrets_listing_them_all``
"""

from __future__ import annotations

import subprocess
import sys
import uuid

from outside import Client
from outside import csrf_token
from outside import environ_for
from outside import Figure
from stack import ROOT
from stack import Stack

PASSWORD = "correct horse battery"


def new_username() -> str:
    return f"rel{uuid.uuid4().hex[:10]}"


def signed_in_as(client: Client, cookie: str | None = None) -> str | None:
    """The username the board shows for this client's session (or ``cookie``), if any."""
    headers = {"Cookie": f"session={cookie}"} if cookie is not None else {}
    if cookie is not None:
        with Client(client.stack) as fresh:
            page = fresh.get("/", headers=headers)
    else:
        page = client.get("/")
    assert page.status_code == 200, page.text
    marker = '<span class="who">'
    return page.text.split(marker, 1)[1].split("<", 1)[0] if marker in page.text else None


def test_a_spoofed_host_is_refused_and_never_echoed(rstack: Stack, figure: Figure) -> None:
    with Client(rstack) as visitor:
        spoofed = visitor.get("/", headers={"Host": "evil.example"})
        forwarded = visitor.get("/", headers={"X-Forwarded-Host": "evil.example"})
        visitor.open_board()
        redirect = visitor.post(
            "/messages", data={"body": "hello"}, headers={"X-Forwarded-Host": "evil.example"}
        )
    assert spoofed.status_code == 400
    assert forwarded.status_code == 200
    assert redirect.status_code == 302
    # The 400 page may name the refused host as text; no URL is ever built with it.
    for response in (spoofed, forwarded, redirect):
        assert "//evil.example" not in response.text
        assert "evil.example" not in response.headers.get("Location", "")
    assert "evil.example" not in forwarded.text
    figure("Host: evil.example", f"{spoofed.status_code}, in no URL")


def test_session_tamper_fixation_and_replay_after_logout(rstack: Stack, figure: Figure) -> None:
    username = new_username()
    with Client(rstack) as attacker, Client(rstack) as victim:
        attacker.open_board()
        planted = attacker.http.cookies["session"]
        # Fixation: the victim signs up carrying the attacker's cookie.
        victim.get("/")
        (jar_cookie,) = victim.http.cookies.jar
        victim.http.cookies.set("session", planted, domain=jar_cookie.domain)
        assert victim.register(username, PASSWORD).status_code == 302
        signed_in = victim.http.cookies["session"]
        assert signed_in != planted
        assert signed_in_as(victim) == username
        assert signed_in_as(attacker, signed_in) == username  # a copy works, until logout
        assert signed_in_as(attacker, planted) is None  # the planted copy stays anonymous

        # Tampering with any character of the signed cookie makes it anonymous.
        middle = len(signed_in) // 2
        while signed_in[middle] == ".":
            middle += 1
        swapped = "A" if signed_in[middle] != "A" else "B"
        tampered = signed_in[:middle] + swapped + signed_in[middle + 1 :]
        assert signed_in_as(attacker, tampered) is None

        # Logout revokes the login server-side: a copy taken before is refused afterwards.
        token = csrf_token(victim.get("/").text)
        assert victim.post("/logout", data={"csrf_token": token}).status_code == 302
        assert signed_in_as(victim) is None
        assert signed_in_as(attacker, signed_in) is None
    figure("fixation / tamper / replay after logout", "anonymous, anonymous, anonymous")


def test_every_response_that_reads_the_session_varies_on_cookie(
    rstack: Stack, figure: Figure
) -> None:
    with Client(rstack) as visitor:
        responses = {"GET /": visitor.get("/"), "GET /login": visitor.get("/login")}
        visitor.open_board()
        responses["POST /api/messages"] = visitor.post("/api/messages", json={"body": "vary"})
        responses["POST /messages"] = visitor.post("/messages", data={"body": "vary"})
    for name, response in responses.items():
        assert response.status_code < 400, (name, response.text)
        vary = {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}
        assert "cookie" in vary, name
    figure("responses reading the session with Vary: Cookie", f"{len(responses)}/{len(responses)}")


def test_state_changing_requests_need_the_sessions_csrf_token(
    rstack: Stack, figure: Figure
) -> None:
    marker = f"csrf-{uuid.uuid4().hex[:8]}"
    with Client(rstack) as visitor, Client(rstack) as other:
        visitor.get("/")  # a session, but the page's token isn't sent
        other.open_board()
        foreign = other.http.headers["X-CSRFToken"]
        attempts = {
            "API, no token": visitor.post("/api/messages", json={"body": marker}),
            "API, another session's token": visitor.post(
                "/api/messages", json={"body": marker}, headers={"X-CSRFToken": foreign}
            ),
            "form, no token": visitor.post("/messages", data={"body": marker}),
            "form, another session's token": visitor.post(
                "/messages", data={"body": marker, "csrf_token": foreign}
            ),
            "login, no token": visitor.post(
                "/login", data={"username": "nobody", "password": PASSWORD}
            ),
        }
        stored = visitor.get("/api/messages", params={"limit": 100}).json()["messages"]
    statuses = {name: r.status_code for name, r in attempts.items()}
    assert set(statuses.values()) == {400}, statuses
    assert marker not in [m["body"] for m in stored]
    figure(
        "state-changing requests without the session's token", f"{len(statuses)} x 400, 0 stored"
    )


def test_security_headers_on_pages_and_static_files_and_cookie_flags(
    rstack: Stack, figure: Figure
) -> None:
    with Client(rstack) as visitor:
        page = visitor.get("/")
        static = visitor.get("/static/style.css")
    for response in (page, static):
        assert response.status_code == 200
        assert response.headers.get_list("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_list("X-Frame-Options") == ["DENY"]
        assert response.headers.get_list("Referrer-Policy") == ["same-origin"]
        (policy,) = response.headers.get_list("Content-Security-Policy")
        assert "default-src" in policy
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    cookie = page.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # This stack speaks plain HTTP (SESSION_COOKIE_SECURE=false); behind TLS, production
    # sets it (tests/k8s) and the TLS proxy sends HSTS.
    assert "secure" not in cookie.replace("samesite", "")
    figure("page and /static/ headers", "CSP, nosniff, X-Frame-Options DENY, Referrer-Policy")
    figure("session cookie", "HttpOnly; SameSite=Lax (Secure behind TLS)")


def test_no_debugger_is_reachable(rstack: Stack, figure: Figure) -> None:
    with Client(rstack) as visitor:
        console = visitor.get("/console")
        resource = visitor.get(
            "/", params={"__debugger__": "yes", "cmd": "resource", "f": "debugger.js"}
        )
    assert console.status_code == 404
    assert "Werkzeug" not in console.text and "Werkzeug" not in resource.text
    assert "debugger" not in resource.headers.get("Content-Type", "")
    figure("/console", console.status_code)


def test_production_refuses_debug_and_weak_secrets_listing_them_all(rstack: Stack) -> None:
    env = environ_for(
        rstack, "web", ERLEN_DEBUG="1", FLASK_DEBUG="1", SECRET_KEY="changemechangeme"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import web.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, "production started with debug on and a default secret"
    output = result.stdout + result.stderr
    for setting in ("ERLEN_DEBUG", "FLASK_DEBUG", "SECRET_KEY"):
        assert setting in output, f"{setting} not named among the problems:\n{output}"
