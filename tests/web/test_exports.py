"""Exports of a room: asked for on the room page, built by the worker in chunks with
progress on the user's channel, downloaded (streamed) only by who asked, cancelled,
expired and purged."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import pytest
from erlen import Erlen
from erlen.ext.jobs import JobCancelled
from erlen.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from web import events
from web.extensions import db
from web.extensions import publisher
from web.jobs import purge_expired
from web.models import Export
from web.models import ExportChunk
from web.models import Message
from web.models import Room
from web.models import User
from web.services import export_files
from web.services import exports

SignIn = t.Callable[..., FlaskClient]
MESSAGES = 450  # three chunks of 200


def _text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


@pytest.fixture
def ada(app: Erlen, sign_in: SignIn) -> FlaskClient:
    """Ada, in a room with MESSAGES messages (written straight to the database: fast)."""
    client = sign_in("ada")
    assert client.post("/rooms/", data={"name": "General"}).status_code == 302
    with app.app_context():
        room = db.session.scalar(select(Room))
        user = db.session.scalar(select(User).where(User.username == "ada"))
        assert room is not None and user is not None
        db.session.add_all(
            Message(room_id=room.id, user_id=user.id, author="ada", body=f'line {n}, with "quotes"')
            for n in range(MESSAGES)
        )
        db.session.commit()
    return client


def _export(client: FlaskClient, fmt: str) -> str:
    response = client.post("/rooms/general/exports", data={"format": fmt})
    assert response.status_code == 302, _text(response)
    location = response.headers["Location"]
    assert location.startswith("/exports/")
    return location.rsplit("/", 1)[1]


def _status(client: FlaskClient, export_id: str) -> dict[str, t.Any]:
    response = client.get(f"/exports/{export_id}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body: dict[str, t.Any] = response.get_json() or {}
    return body


def test_a_csv_export_is_built_with_progress_and_downloads(
    app: Erlen, ada: FlaskClient, worker: t.Any
) -> None:
    export_id = _export(ada, "csv")
    page = _text(ada.get(f"/exports/{export_id}"))
    assert "<progress" in page and 'id="download"' in page and "/static/export.js" in page
    assert ada.get(f"/exports/{export_id}/download").status_code == 409  # not built yet
    worker.drain()

    status = _status(ada, export_id)
    assert (status["status"], status["rows"]) == ("done", MESSAGES)
    assert status["job"]["state"] == "done"
    assert status["job"]["result_url"] == f"/exports/{export_id}/download"

    with ada.get(f"/exports/{export_id}/download") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="room-')
        assert response.is_streamed
        rows = list(csv.reader(io.StringIO(_text(response))))
    assert rows[0] == list(export_files.CSV_COLUMNS)
    assert [r[3] for r in rows[1:]] == [f'line {n}, with "quotes"' for n in range(MESSAGES)]

    # The user's channel got the progress, in order, ending in "done".
    history = asyncio.run(publisher.get_broker(app).history(events.user_channel(1), since=0))
    assert history.events is not None
    states = [json.loads(e)["data"] for e in history.events if b"job.progress" in e]
    currents = [s["current"] for s in states if s["state"] == "running" and s["current"]]
    assert currents == [200, 400, MESSAGES, MESSAGES]  # one per chunk, in order, then "ready"
    assert states[-1]["state"] == "done"


def test_a_json_export_is_one_valid_document(app: Erlen, ada: FlaskClient, worker: t.Any) -> None:
    export_id = _export(ada, "json")
    worker.drain()
    with ada.get(f"/exports/{export_id}/download") as response:
        assert response.mimetype == "application/json"
        items = json.loads(_text(response))
    assert len(items) == MESSAGES and items[0]["body"] == 'line 0, with "quotes"'


def test_only_who_asked_sees_and_downloads_it(
    ada: FlaskClient, sign_in: SignIn, client: FlaskClient, worker: t.Any
) -> None:
    export_id = _export(ada, "csv")
    worker.drain()
    bob = sign_in("bob")
    for path in (f"/exports/{export_id}", f"/exports/{export_id}/download"):
        assert bob.get(path).status_code == 404
        assert client.get(path).status_code == 302  # a visitor is sent to log in
    assert bob.post(f"/exports/{export_id}/cancel").status_code == 404
    assert ada.get("/exports/not-an-id").status_code == 404


def test_a_private_room_cannot_be_exported_by_outsiders(ada: FlaskClient, sign_in: SignIn) -> None:
    ada.post("/rooms/", data={"name": "Secret", "private": "1"})
    bob = sign_in("bob")
    assert bob.post("/rooms/secret/exports", data={"format": "csv"}).status_code == 404


def test_bad_formats_and_too_many_at_once_are_refused(ada: FlaskClient) -> None:
    response = ada.post("/rooms/general/exports", data={"format": "xlsx"})
    assert response.status_code == 422 and "An export is one of csv, json" in _text(response)
    for _ in range(exports.MAX_PENDING):
        _export(ada, "csv")  # no worker: they stay queued
    refused = ada.post("/rooms/general/exports", data={"format": "csv"})
    assert refused.status_code == 429 and "exports in progress" in _text(refused)


def test_a_queued_export_is_cancelled_and_never_built(
    app: Erlen, ada: FlaskClient, request: pytest.FixtureRequest
) -> None:
    export_id = _export(ada, "csv")
    assert ada.post(f"/exports/{export_id}/cancel").status_code == 302
    request.getfixturevalue("worker").drain()  # the worker starts only now
    assert _status(ada, export_id)["status"] == "cancelled"
    assert ada.get(f"/exports/{export_id}/download").status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0


def test_a_running_export_stops_at_its_next_chunk_and_keeps_nothing(
    app: Erlen, ada: FlaskClient
) -> None:
    reports: list[int] = []

    def report(current: int, total: int, message: str) -> None:
        reports.append(current)
        if current >= 200:
            raise JobCancelled("m-1")  # what report_progress raises once a cancel was asked

    export_id = _export(ada, "csv")
    with app.app_context(), pytest.raises(JobCancelled):
        export_files.build(session=db.session, export_id=export_id, report=report)
    with app.app_context():
        db.session.rollback()
        export_files.mark(session=db.session, export_id=export_id, status="cancelled")
        assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    assert reports == [0, 200]
    assert _status(ada, export_id)["status"] == "cancelled"


def test_expired_exports_are_gone_then_purged(app: Erlen, ada: FlaskClient, worker: t.Any) -> None:
    export_id = _export(ada, "csv")
    worker.drain()
    with app.app_context():
        export = db.session.get(Export, export_id)
        assert export is not None
        export.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    gone = ada.get(f"/exports/{export_id}/download")
    assert gone.status_code == 410 and "This export expired" in _text(gone)
    with app.app_context():
        purge_expired.send()
    worker.drain()
    with app.app_context():
        assert db.session.get(Export, export_id) is None
        assert db.session.scalar(select(func.count()).select_from(ExportChunk)) == 0
    assert ada.get(f"/exports/{export_id}").status_code == 404


def test_the_purge_runs_on_a_schedule(app: Erlen) -> None:
    schedule = app.config["JOBS_SCHEDULE"]
    assert schedule["purge-expired"]["job"] == "purge_expired"
