"""Posting in a room is rate limited per address like posting on the board (nginx: 2 a
second, bursts of 20), through API v1 and the page's form alike."""

from __future__ import annotations

import uuid

from nginx_errors import assert_error_page
from nginx_errors import assert_problem
from outside import Client
from outside import csrf_token
from outside import Figure
from stack import Stack

PASSWORD = "correct horse battery"


def _signed_up(poster: Client) -> None:
    page = poster.get("/register").text
    response = poster.post(
        "/register",
        data={
            "username": f"rl-{uuid.uuid4().hex[:8]}",
            "password": PASSWORD,
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 302, response.text
    page = poster.get("/rooms/").text
    poster.http.headers["X-CSRFToken"] = csrf_token(page)


def test_posting_in_a_room_is_rate_limited_per_address(rstack: Stack, figure: Figure) -> None:
    with Client(rstack) as poster:
        _signed_up(poster)
        slug = f"limits-{uuid.uuid4().hex[:8]}"
        created = poster.post("/api/v1/rooms", json={"name": "Limits", "slug": slug})
        assert created.status_code == 201, created.text
        url = f"/api/v1/rooms/{created.json()['id']}/messages"
        responses = [poster.post(url, json={"body": f"m{n}"}) for n in range(30)]
        statuses = [r.status_code for r in responses]
        form = poster.post(f"/rooms/{slug}/messages", data={"body": "by the form"})
        with Client(rstack) as other:  # another address is not held back
            _signed_up(other)
            assert other.post("/api/v1/rooms", json={"name": "Other"}).status_code == 201
    assert set(statuses) == {201, 429}
    assert statuses.count(201) >= 20 and statuses[:20] == [201] * 20
    # nginx's own 429s, shaped as web's errors: a problem for API v1 (with Retry-After),
    # the styled page for the form.
    for refused in (r for r in responses if r.status_code == 429):
        assert_problem(refused, 429, url)
        assert refused.headers["Retry-After"] == "1"
    assert_error_page(form, 429)
    figure("room posts from one address before nginx's 429", statuses.index(429))
