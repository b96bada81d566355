"""Input the database or UTF-8 can't hold is refused with a 4xx and no traceback (issue 8).

``test_bad_input_is_refused_with_a_4xx_and_no_traceback``, pending branch ``proxy``: a NUL
byte in a message (API and form) and in a login username, a lone surrogate in a JSON body,
and integers beyond the id column in ``/api/messages/<id>`` and ``?before=``.
"""

from __future__ import annotations

import time

from outside import Client
from outside import Figure
from outside import LogReader
from outside import tracebacks
from stack import Stack

HUGE = "9" * 30


def test_bad_input_is_refused_with_a_4xx_and_no_traceback(rstack: Stack, figure: Figure) -> None:
    logs = {name: LogReader(rstack.processes[name].log_path) for name in ("web", "worker")}
    with Client(rstack) as visitor:
        visitor.open_board()
        token = visitor.http.headers["X-CSRFToken"]
        login_token = visitor.form_token("/login")
        answers = {
            "API body with NUL": visitor.post("/api/messages", json={"body": "a\x00b"}),
            "form body with NUL": visitor.post("/messages", data={"body": "a\x00b"}),
            "login username with NUL": visitor.post(
                "/login",
                data={"username": "a\x00b", "password": "whatever", "csrf_token": login_token},
            ),
            "JSON lone surrogate": visitor.post(
                "/api/messages",
                content=b'{"body": "\\ud800"}',
                headers={"Content-Type": "application/json", "X-CSRFToken": token},
            ),
            "huge message id": visitor.get(f"/api/messages/{HUGE}"),
            "huge ?before=": visitor.get("/api/messages", params={"before": HUGE}),
        }
    time.sleep(0.5)  # let the services write their logs
    statuses = {name: r.status_code for name, r in answers.items()}
    for name, status in statuses.items():
        figure(name, status)
    assert all(400 <= s < 500 for s in statuses.values()), statuses
    for name, reader in logs.items():
        assert tracebacks(reader.new_text()) == [], f"{name} logged a traceback"
