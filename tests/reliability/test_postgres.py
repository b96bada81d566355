"""R20: Postgres connections killed under load (``pg_terminate_backend`` on the stack's own
database only; the machine's Postgres is never restarted).

``test_killed_database_connections_give_success_or_503_never_an_empty_500``: every answer is
a success or a 503; web's access log and nginx's record the status the client got; the
pools recover and hold no more connections than before.
"""

from __future__ import annotations

import collections
import threading
import time

import pytest
from outside import Client
from outside import Figure
from outside import nginx_access
from outside import wait_until
from outside import web_access
from stack import Stack

THREADS = 4
KILLS = 6


# Today about 1 % of the requests answer 500 when their connection is killed: a JSON 500 for
# an error in the view, and an *empty* 500 where web's access log says 200 (the session's
# COMMIT in teardown failed after the response was logged). Issue 8's "database blips" fix
# (not on a branch of this suite's knowledge yet) makes them 503s and keeps teardown failures
# from changing a response; the lead removes this mark when it merges.
@pytest.mark.timeout(120)
def test_killed_database_connections_give_success_or_503_never_an_empty_500(
    rstack: Stack, figure: Figure
) -> None:
    results: list[tuple[str, str, int, int]] = []  # (rid, what, status, body bytes)
    stop = threading.Event()

    def load() -> None:
        with Client(rstack) as visitor:
            visitor.open_board()
            last_post = 0.0
            while not stop.is_set():
                if time.monotonic() - last_post > 0.6:  # under nginx's 2 posts/s
                    last_post = time.monotonic()
                    what, response = "POST", visitor.post("/api/messages", json={"body": "db"})
                else:
                    what, response = "GET", visitor.get("/api/messages", params={"limit": 5})
                rid = response.request.headers["X-Request-ID"]
                results.append((rid, what, response.status_code, len(response.content)))

    threads = [threading.Thread(target=load) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    killed = 0
    try:
        for _ in range(KILLS):
            time.sleep(1)
            killed += rstack.terminate_backends()
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    statuses = collections.Counter(status for _, _, status, _ in results)
    figure("requests during the kills", f"{len(results)}: {dict(sorted(statuses.items()))}")
    figure("connections terminated", f"{killed} in {KILLS} rounds")
    rids = {rid for rid, *_ in results}
    wait_until(lambda: rids <= nginx_access(rstack).keys(), 10, "nginx logging every request")
    nginx, web = nginx_access(rstack), web_access(rstack)
    mismatched = [
        (rid, status, nginx[rid][0], web.get(rid))
        for rid, _, status, _ in results
        if nginx[rid][0] != status or web.get(rid, status) != status
    ]
    errors = [r for r in results if r[2] >= 500]
    figure(
        "5xx answers (request id, method, status, body bytes, web's logged status)",
        [(*r, web.get(r[0])) for r in errors][:10],
    )
    assert set(statuses) <= {200, 201, 503}, statuses
    assert not [r for r in results if r[2] >= 500 and r[3] == 0], "an empty 5xx"
    assert mismatched == [], "a log recorded another status than the client got"

    with Client(rstack) as after:
        recovered = wait_until(
            lambda: after.get("/readyz").status_code == 200, 15, "web ready again"
        )
        assert after.get("/api/messages").status_code == 200
    figure("ready again after the last kill", f"{recovered:.1f} s")
    figure("connections to the database afterwards", rstack.database_backends())
