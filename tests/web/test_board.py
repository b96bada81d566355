"""The board: the page, posting through the form and the JSON API, and the job round trip."""

from __future__ import annotations

import asyncio
import threading
import typing as t

from erlen import Erlen
from erlen.testing import FlaskClient
from werkzeug.test import TestResponse

from web import events
from web.extensions import db
from web.extensions import publisher
from web.models import Message


def _json(response: TestResponse) -> t.Any:
    """The response's JSON body; the test fails if it has none."""
    body = response.json
    assert body is not None, response.data
    return body


def test_page_gives_the_visitor_a_name_kept_in_the_session(client: FlaskClient) -> None:
    first = client.get("/")
    assert first.status_code == 200
    assert b'id="board"' in first.data
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only
    name = first.data.split(b'data-name="')[1].split(b'"')[0]
    assert name.startswith(b"visitor-")
    again = client.get("/")
    assert b'data-name="' + name + b'"' in again.data  # same visitor on the next visit


def test_page_points_the_websocket_at_the_configured_url(app: Erlen, client: FlaskClient) -> None:
    app.config["REALTIME_URL"] = "/ws"
    assert b'data-realtime-url="/ws"' in client.get("/").data


def test_form_post_saves_the_message_and_redirects(app: Erlen, client: FlaskClient) -> None:
    response = client.post("/messages", data={"body": "hello from a form"})
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalars(db.select(Message)).all()
    assert [m.body for m in saved] == ["hello from a form"]


def test_form_post_without_text_explains_and_saves_nothing(app: Erlen, client: FlaskClient) -> None:
    response = client.post("/messages", data={"body": "   "}, follow_redirects=True)
    assert b"A message needs some text." in response.data
    with app.app_context():
        assert db.session.scalars(db.select(Message)).all() == []


def test_api_post_returns_the_message_and_its_location(client: FlaskClient) -> None:
    response = client.post("/api/messages", json={"body": "two words"})
    assert response.status_code == 201
    message = _json(response)
    assert message["body"] == "two words"
    assert message["word_count"] is None  # not processed yet
    location = response.headers["Location"]
    assert _json(client.get(location))["id"] == message["id"]


def test_job_processes_the_message_and_both_events_reach_a_subscriber(
    app: Erlen, client: FlaskClient, worker: t.Any
) -> None:
    broker = publisher.get_broker(app)
    received: list[dict[str, t.Any]] = []
    subscribed = threading.Event()

    async def listen() -> None:
        async with broker.subscribe(events.BOARD_CHANNEL) as subscription:
            await broker.wait_ready(events.BOARD_CHANNEL)
            subscribed.set()
            async for _channel, event in subscription:
                received.append(event)
                if event["event"] == events.MESSAGE_PROCESSED:
                    return

    listener = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(listen(), 10)))
    listener.start()
    assert subscribed.wait(5)

    posted = _json(client.post("/api/messages", json={"body": "one two three"}))
    worker.drain()
    listener.join(10)

    assert [e["event"] for e in received] == [events.MESSAGE_POSTED, events.MESSAGE_PROCESSED]
    assert received[1]["data"]["id"] == posted["id"]
    assert received[1]["data"]["word_count"] == 3
    assert _json(client.get(f"/api/messages/{posted['id']}"))["word_count"] == 3


def test_listing_pages_backwards_newest_first(client: FlaskClient) -> None:
    ids = [_json(client.post("/api/messages", json={"body": f"m{i}"}))["id"] for i in range(5)]
    page = _json(client.get("/api/messages?limit=2"))["messages"]
    assert [m["id"] for m in page] == ids[::-1][:2]
    older = _json(client.get(f"/api/messages?limit=2&before={page[-1]['id']}"))["messages"]
    assert [m["id"] for m in older] == ids[::-1][2:4]


def test_posts_without_the_csrf_token_are_refused_and_save_nothing(app: Erlen) -> None:
    stranger = app.test_client()  # never loaded the page, so has no token
    form = stranger.post("/messages", data={"body": "forged"})
    api = stranger.post("/api/messages", json={"body": "forged"})
    assert form.status_code == 400 and b"CSRF" in form.data
    assert api.status_code == 400 and "CSRF token is missing" in _json(api)["detail"]
    with app.app_context():
        assert db.session.scalars(db.select(Message)).all() == []


def test_the_form_carries_its_csrf_token(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_pages_carry_a_strict_content_security_policy(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_lets_the_page_reach_the_realtime_service() -> None:
    from web.security import content_security_policy

    assert "connect-src 'self';" in content_security_policy("/ws")  # same origin
    assert "ws://*:5001" in content_security_policy(":5001/ws")  # make dev
    assert "wss://rt.example.com" in content_security_policy("wss://rt.example.com/ws")


def test_who_is_here_starts_empty_and_the_page_knows_its_own_name(client: FlaskClient) -> None:
    # In the fast tier no realtime server runs, so nobody is connected to the board.
    assert client.get("/api/board/presence").get_json() == {"members": []}
    page = client.get("/").get_data(as_text=True)
    name = page.split('id="me" data-name="', 1)[1].split('"', 1)[0]
    assert name.startswith("visitor-")
    with client.session_transaction() as session:
        assert session["name"] == name  # what the realtime service shows for this page


def test_static_files_are_served_by_web_too(client: FlaskClient) -> None:
    # nginx serves /static/ in the stack; make dev and a bare web container serve it here.
    with client.get("/static/style.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/static/no-such-file.css").status_code == 404


def test_the_favicon_is_sent_with_conditional_answers(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as first:
        assert first.status_code == 200 and first.mimetype == "image/png"
        assert first.data.startswith(b"\x89PNG")
        assert first.headers["Cache-Control"] == "public, max-age=86400"
        etag = first.headers["ETag"]
    with client.get("/favicon.ico", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304 and again.data == b""
