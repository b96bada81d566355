"""The jobs the worker runs: idempotent, and tolerant of work that vanished."""

from __future__ import annotations

import typing as t

from erlen import Erlen
from sqlalchemy import select

from web import events
from web.extensions import db
from web.extensions import outbox
from web.jobs import process_message
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
