"""The jobs the worker runs: idempotent, and tolerant of work that vanished."""

from __future__ import annotations

import typing as t

from erlen import Erlen

from web.extensions import db
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
        stamp = first.processed_at
        second = messages.process_message(session=db.session, message_id=message_id)
        assert second is not None and second.processed_at == stamp


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
