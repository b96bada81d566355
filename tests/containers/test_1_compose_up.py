"""`make up`: what a person sees on http://127.0.0.1:8080 once it returns.

The modules are numbered because they are one scenario: up, then restarts and scale-out,
then down.
"""

from __future__ import annotations

import uuid

from compose_stack import ComposeStack
from compose_stack import request_ids_logged
from test_stack import receive
from test_stack import subscribe
from test_stack import Visitor


def test_make_up_serves_the_board_through_nginx(compose_stack: ComposeStack) -> None:
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        response = visitor.http.get("/")
    assert response.status_code == 200
    assert 'id="board"' in response.text
    assert response.headers["Server"] == "nginx"
    assert len(response.headers["X-Request-ID"]) >= 8


def test_static_files_are_served_by_nginx_from_its_image(compose_stack: ComposeStack) -> None:
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        response = visitor.http.get("/static/board.js", headers={"X-Request-ID": "static-probe-1"})
        visitor.http.get("/healthz", headers={"X-Request-ID": "web-probe-1"})
    assert response.status_code == 200
    assert "ErlenRealtime.connect" in response.text
    cache_control = {part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert cache_control == {"max-age=3600", "public"}
    web_log = compose_stack.run_compose("logs", "--no-color", "web").stdout
    assert "web-probe-1" in request_ids_logged(web_log)  # web does log proxied requests...
    assert "static-probe-1" not in web_log  # ...but the static file never reached web


def test_readiness_reports_database_redis_and_migrations(compose_stack: ComposeStack) -> None:
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        response = visitor.http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}


def test_a_message_posted_to_the_json_api_is_listed(compose_stack: ComposeStack) -> None:
    body = f"posted in a container {uuid.uuid4().hex[:8]}"
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        visitor.open_board()
        created = visitor.http.post("/api/messages", json={"body": body})
        assert created.status_code == 201, created.text
        listed = visitor.http.get("/api/messages").json()["messages"]
    assert [m["body"] for m in listed if m["id"] == created.json()["id"]] == [body]


def test_a_job_run_by_the_worker_announces_itself_on_the_websocket(
    compose_stack: ComposeStack,
) -> None:
    with Visitor(compose_stack) as visitor:  # type: ignore[arg-type]
        visitor.open_board()
        with visitor.websocket() as ws:
            subscribe(ws)
            created = visitor.http.post("/api/messages", json={"body": "count these four words"})
            message_id = created.json()["id"]
            frames = receive(
                ws,
                lambda f: f.get("event") == "message.processed" and f["data"]["id"] == message_id,
                timeout=30,
            )
    assert frames[-1]["data"]["word_count"] == 4


def test_an_account_signs_up_and_logs_in(compose_stack: ComposeStack) -> None:
    username = f"box{uuid.uuid4().hex[:10]}"
    password = "correct horse battery"
    with Visitor(compose_stack) as newcomer:  # type: ignore[arg-type]
        token = _form_token(newcomer.http.get("/register").text)
        signed_up = newcomer.http.post(
            "/register", data={"csrf_token": token, "username": username, "password": password}
        )
        assert signed_up.status_code == 302, signed_up.text
    with Visitor(compose_stack) as returning:  # type: ignore[arg-type]
        token = _form_token(returning.http.get("/login").text)
        logged_in = returning.http.post(
            "/login", data={"csrf_token": token, "username": username, "password": password}
        )
        assert logged_in.status_code == 302, logged_in.text
        page = returning.http.get("/").text
    assert f'<span class="who">{username}</span>' in page


def _form_token(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
