"""The jobs the worker runs: idempotent, and tolerant of work that vanished."""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

from erlen import Erlen
from erlen.ext.migrate import upgrade
from sqlalchemy import select

from web import events
from web.extensions import db
from web.extensions import jobs
from web.extensions import outbox
from web.extensions import publisher
from web.jobs import process_message
from web.services import board
from web.services import messages


def _saved_message(body: str) -> int:
    message = messages.add_message(session=db.session, author="a", body=body)
    db.session.commit()
    return message.id


def test_processing_twice_changes_nothing_the_second_time(app: Erlen) -> None:
    with app.app_context():
        message_id = _saved_message("one two")
        first = messages.process_message(session=db.session, message_id=message_id)
        assert first is not None and first.word_count == 2
        db.session.commit()
        stamp = first.processed_at
        assert messages.process_message(session=db.session, message_id=message_id) is None
        db.session.commit()
        assert messages.get_message(session=db.session, message_id=message_id).processed_at == stamp


def test_the_job_run_twice_announces_the_message_once(app: Erlen) -> None:
    with app.app_context():
        message_id = _saved_message("one two three")
        process_message(message_id)
        process_message(message_id)  # a duplicate delivery
        announced = db.session.execute(
            select(outbox.table.c.payload).where(outbox.table.c.target == events.BOARD_CHANNEL)
        ).scalars()
        processed = [p for p in announced if p["event"] == events.MESSAGE_PROCESSED]
    assert [(p["data"]["id"], p["data"]["word_count"]) for p in processed] == [(message_id, 3)]


def test_a_deleted_message_is_not_an_error(app: Erlen) -> None:
    with app.app_context():
        assert messages.process_message(session=db.session, message_id=12345) is None


def test_the_job_runs_in_the_worker_and_fills_in_the_word_count(app: Erlen, worker: t.Any) -> None:
    with app.app_context():
        message_id = _saved_message("a b c d")
        process_message.send(message_id)
    worker.drain()
    with app.app_context():
        assert messages.get_message(session=db.session, message_id=message_id).word_count == 4


def test_the_worker_runs_the_outbox_relay(
    tmp_path: Path, make_env: t.Callable[..., dict[str, str]]
) -> None:
    from web.app import create_app

    # The web process leaves everything to the relay, as if it died after each commit.
    config = {"TESTING": True, "OUTBOX_DELIVER_AFTER_COMMIT": False, "OUTBOX_GRACE": 0}
    app = create_app(config, env=make_env(tmp_path))
    upgrade(app)
    try:
        with app.app_context():
            message = board.post_message(session=db.session, author="a", body="one two")
            message_id = message.id
        handle = jobs.run_worker_thread(app=app, worker_threads=1)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with app.app_context():
                    found = messages.get_message(session=db.session, message_id=message_id)
                    # Processed, and the relay also sent the job's own event.
                    if found.word_count and outbox.backlog(app)[0] == 0:
                        break
                time.sleep(0.05)
        finally:
            handle.stop()
        with app.app_context():
            assert messages.get_message(session=db.session, message_id=message_id).word_count == 2
            assert outbox.backlog(app)[0] == 0
    finally:
        jobs.state(app).close()
        publisher.get_broker(app).close()
