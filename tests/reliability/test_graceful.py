"""R21 (web): SIGTERM to web lets the requests it is handling finish.

``test_sigterm_lets_in_flight_requests_finish``: sign-ups that are provably inside web
(each waits on a row lock the test holds) when granian gets SIGTERM all complete with their
normal answer; then web is started again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import httpx
import pytest
from outside import Client
from outside import database
from outside import Figure
from outside import wait_until
from outside import waiting_on_locks
from stack import Stack

IN_FLIGHT = 4


@pytest.mark.timeout(120)
def test_sigterm_lets_in_flight_requests_finish(rstack: Stack, figure: Figure) -> None:
    names = [f"rel{uuid.uuid4().hex[:10]}" for _ in range(IN_FLIGHT)]
    answers: dict[str, httpx.Response] = {}
    web = rstack.processes["web"]
    assert web.popen is not None
    with database(rstack, autocommit=False) as lock:
        # The test's own uncommitted rows with these usernames: web's INSERTs wait on them.
        for name in names:
            lock.execute(
                "INSERT INTO users (username, password_hash, session_epoch, created_at)"
                " VALUES (%s, 'x', 0, now())",
                (name,),
            )
        clients = [Client(rstack) for _ in names]
        tokens = [c.form_token("/register") for c in clients]

        def sign_up(index: int) -> None:
            answers[names[index]] = clients[index].post(
                "/register",
                data={
                    "username": names[index],
                    "password": "correct horse battery",
                    "csrf_token": tokens[index],
                },
            )

        threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        wait_until(lambda: waiting_on_locks(rstack) == IN_FLIGHT, 30, "every sign-up in web")
        os.killpg(web.popen.pid, signal.SIGTERM)
        time.sleep(1)
        signalled = time.monotonic()
        lock.rollback()  # the sign-ups can go on
    for thread in threads:
        thread.join(30)
    code = web.popen.wait(30)
    stopped = time.monotonic() - signalled
    for client in clients:
        client.close()
    try:
        assert {name: r.status_code for name, r in answers.items()} == {n: 302 for n in names}
        with database(rstack) as conn:
            (created,) = conn.execute(
                "SELECT count(*) FROM users WHERE username = ANY(%s)", (names,)
            ).fetchone()
        assert created == IN_FLIGHT
    finally:
        rstack.restart("web")
    figure("in-flight sign-ups at SIGTERM", f"{IN_FLIGHT}, all 302, all stored")
    figure("web exited", f"{stopped:.1f} s after they could finish (exit {code})")
