"""R10: login brute force is throttled, per account and per address, and nobody else is
locked out.

- ``test_failed_logins_on_one_account_are_throttled`` (web's throttle: 10 failures a minute)
  and the stored hash is argon2id.
- ``test_nginx_limits_login_attempts_per_address``: nginx's 429 past 10 quick attempts,
  other addresses unaffected.
- ``test_failed_logins_from_one_address_never_lock_out_another`` (pending branch ``proxy``:
  web must see the client's address, not nginx's).

Web's throttle keeps its counters a minute; each test clears them before and after (our
private Redis, our prefix), so each starts as a new minute would.
"""

from __future__ import annotations

import typing as t
import uuid

import psycopg
import pytest
import redis
from nginx_errors import assert_error_page
from outside import address
from outside import Client
from outside import Figure
from outside import nginx_access
from outside import wait_until
from stack import PG_HOST
from stack import PG_PORT
from stack import PG_USER
from stack import Stack

PASSWORD = "correct horse battery"


def _clear_throttle(stack: Stack) -> None:
    client = redis.Redis(host="127.0.0.1", port=stack.redis_port)
    keys = list(client.scan_iter(match=f"{stack.key_prefix}*login-throttle*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(autouse=True)
def fresh_throttle(rstack: Stack) -> t.Iterator[None]:
    # Until branch proxy, web counts every address as nginx's: other tests' failed logins
    # would count here.
    _clear_throttle(rstack)
    yield
    _clear_throttle(rstack)


def _user(stack: Stack) -> str:
    username = f"rel{uuid.uuid4().hex[:10]}"
    with Client(stack) as signup:
        assert signup.register(username, PASSWORD).status_code == 302
    return username


def test_failed_logins_on_one_account_are_throttled(rstack: Stack, figure: Figure) -> None:
    username = _user(rstack)
    # One address, 11 attempts (what nginx lets through at once): the app's limit for
    # this account from this address answers the 11th, with Retry-After.
    with Client(rstack) as attacker:
        responses = [attacker.login(username, f"wrong-{i}") for i in range(11)]
    statuses = [r.status_code for r in responses]
    with Client(rstack) as owner:  # the owner, elsewhere, is not locked out
        right = owner.login(username, PASSWORD)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert "Retry-After" in responses[10].headers  # the app's 429, not nginx's
    assert right.status_code == 302

    # A botnet: every address under its own limits; the account's ceiling (10 x 10) holds.
    # So far 11 attempts counted (the owner's success gave its slot back).
    botnet = []
    for i in range(89):
        with Client(rstack) as bot:
            botnet.append(bot.login(username, f"bot-{i}").status_code)
    with Client(rstack) as bot:
        over = bot.login(username, f"bot-{len(botnet)}")
    assert botnet == [401] * 89 and over.status_code == 429

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=rstack.database) as db:
        (stored,) = db.execute(
            "SELECT password_hash FROM users WHERE username = %s", (username,)
        ).fetchone()  # type: ignore[misc]
    assert stored.startswith("$argon2id$")
    figure("failed logins from one address before 429", statuses.index(429))
    figure("owner's login from another address", right.status_code)
    figure("attempts on one account from 91 addresses before 429", 11 + len(botnet))
    figure("stored hash", " ".join(stored.split("$")[1:4]))


def test_nginx_limits_login_attempts_per_address(rstack: Stack, figure: Figure) -> None:
    source = address()
    with Client(rstack, source=source) as hammer, Client(rstack) as other:
        token = hammer.form_token("/login")
        responses = [
            hammer.post("/login", data={"username": f"u{i}", "password": "x", "csrf_token": token})
            for i in range(15)
        ]
        elsewhere = other.form_token("/login")
        neighbour = other.post(
            "/login", data={"username": "someone", "password": "x", "csrf_token": elsewhere}
        )
    rids = [r.request.headers["X-Request-ID"] for r in responses]
    neighbour_rid = neighbour.request.headers["X-Request-ID"]
    wait_until(lambda: {*rids, neighbour_rid} <= nginx_access(rstack).keys(), 5, "access log")
    log = nginx_access(rstack)
    by_nginx = [rid for rid in rids if log[rid] == (429, "-")]
    # The first one plus the burst of 10 reach web; the rest get nginx's 429.
    assert rids[:11] == [rid for rid in rids if log[rid][1] != "-"]
    assert by_nginx == rids[11:]
    assert log[neighbour_rid][1] != "-"  # another address still reaches web
    for refused in responses[11:]:  # nginx's styled page, a login every 2 s
        assert_error_page(refused, 429)
        assert refused.headers["Retry-After"] == "2"
    figure("quick login attempts from one address passed by nginx", f"{11} of 15, then 429")


def test_failed_logins_from_one_address_never_lock_out_another(
    rstack: Stack, figure: Figure
) -> None:
    username = _user(rstack)
    with Client(rstack) as attacker:
        for i in range(10):
            attacker.login(f"random{i}{uuid.uuid4().hex[:6]}", "wrong password")
    with Client(rstack) as user:
        response = user.login(username, PASSWORD)
    assert response.status_code == 302, response.text
