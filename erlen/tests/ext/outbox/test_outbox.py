"""The outbox on SQLite and Postgres with the in-memory brokers: what a transaction records
is delivered once if it commits, never if it rolls back; the relay delivers the rest."""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from outbox_support import EventLog
from outbox_support import OutboxApp

from erlen.ext.jobs import JobArgumentError
from erlen.ext.jobs import Jobs
from erlen.ext.outbox.delivery import Intent
from erlen.ext.outbox.delivery import job_message
from erlen.realtime.errors import InvalidChannel
from erlen.realtime.errors import InvalidEvent

MakeApp = t.Callable[..., OutboxApp]


def _rows(o: OutboxApp) -> list[t.Any]:
    with o.app.app_context():
        return list(o.db.session.execute(sa.select(o.outbox.table)).all())


def _processed(o: OutboxApp) -> list[str]:
    with o.app.app_context():
        return sorted(o.db.session.execute(sa.select(o.items.c.name)).scalars())


def _drain(o: OutboxApp) -> None:
    worker = o.jobs.run_worker_thread(app=o.app, worker_threads=1)
    try:
        o.jobs.join(app=o.app)
    finally:
        worker.stop()


def _flush_events(o: OutboxApp, log: EventLog) -> None:
    """Publish a marker and wait for it: every event published before it has arrived."""
    with o.app.app_context():
        o.publisher.publish("things", "marker", {})
    log.wait_for("marker")


def test_a_commit_delivers_each_intent_once_and_marks_it(
    make_app: MakeApp, database_url: str
) -> None:
    # Grace 0: the relay would take any row the committing process left unmarked.
    o = make_app(database_url, OUTBOX_GRACE=0)
    with EventLog(o.publisher.get_broker(o.app), "things") as log:
        with o.app.app_context():
            session = o.db.session
            session.execute(o.items.insert().values(name="a"))
            event_id = o.outbox.publish(session, "things", "thing.added", {"id": 1})
            o.outbox.send(session, o.record, "a")
            session.commit()
        # Marked by a background thread on Postgres, inline on SQLite.
        assert o.outbox.flush_marks()
        rows = _rows(o)
        assert len(rows) == 2
        assert all(row.delivered_at is not None and row.next_attempt_at is None for row in rows)
        assert o.outbox.relay_once(o.app).taken == 0
        _drain(o)
        _flush_events(o, log)
    added = log.named("thing.added")
    assert [(e["data"], e["id"], e["outbox_id"]) for e in added] == [({"id": 1}, 1, str(event_id))]
    assert _processed(o) == ["a", "processed a"]
    assert o.runs == ["a"]


def test_message_options_travel_with_the_job(make_app: MakeApp, database_url: str) -> None:
    o = make_app(database_url, OUTBOX_DELIVER_AFTER_COMMIT=False, OUTBOX_GRACE=0)
    with o.app.app_context():
        session = o.db.session
        message_id = o.outbox.send_with_options(
            session, o.record, args=("a",), progress_channel="user.7"
        )
        with pytest.raises(TypeError):
            o.outbox.send_with_options(session, o.record, args=("b",), bad=object())
        session.commit()
    rows = _rows(o)
    assert len(rows) == 1
    intent = Intent(rows[0].id, rows[0].kind, rows[0].target, rows[0].payload)
    message = job_message(intent, o.jobs.state(o.app))
    assert message.message_id == str(message_id)
    assert message.options == {"progress_channel": "user.7", "outbox_id": str(message_id)}
    assert message.args == ("a",)


def test_a_transaction_inserts_its_intents_in_one_statement_at_commit(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url, OUTBOX_GRACE=0)
    statements: list[str] = []
    with o.app.app_context():
        engine = o.db.engine

        def record(*args: t.Any) -> None:
            statements.append(str(args[2]))

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            session = o.db.session
            for n in range(5):
                o.outbox.send(session, o.record, f"job {n}")
            o.outbox.publish(session, "things", "thing.added", {"id": 1})
            assert statements == []  # nothing is written before the commit
            session.commit()
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO ERLEN_OUTBOX")]
    assert len(inserts) == 1
    assert o.outbox.flush_marks()
    assert len(_rows(o)) == 6


def test_a_rollback_delivers_nothing(make_app: MakeApp, database_url: str) -> None:
    o = make_app(database_url, OUTBOX_GRACE=0)
    with EventLog(o.publisher.get_broker(o.app), "things") as log:
        with o.app.app_context():
            session = o.db.session
            session.execute(o.items.insert().values(name="a"))
            o.outbox.publish(session, "things", "thing.added", {"id": 1})
            o.outbox.send(session, o.record, "a")
            session.rollback()
            # The session goes on: a later commit doesn't send the rolled-back intents.
            o.outbox.send(session, o.record, "b")
            session.commit()
        assert o.outbox.flush_marks()
        assert o.outbox.relay_once(o.app).taken == 0
        _drain(o)
        _flush_events(o, log)
    assert log.named("thing.added") == []
    assert _processed(o) == ["processed b"]
    assert len(_rows(o)) == 1


def test_a_session_closed_without_commit_delivers_nothing(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url, OUTBOX_GRACE=0)
    with o.app.app_context():
        session = o.db.session()
        o.outbox.send(session, o.record, "abandoned")
        session.close()
        o.outbox.send(session, o.record, "kept")
        session.commit()
    _drain(o)
    assert o.runs == ["kept"]


def test_a_rolled_back_savepoint_drops_only_its_own_intents(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url, OUTBOX_GRACE=0)
    with o.app.app_context():
        session = o.db.session
        o.outbox.send(session, o.record, "outer")
        with session.begin_nested():
            o.outbox.send(session, o.record, "released")
        savepoint = session.begin_nested()
        o.outbox.send(session, o.record, "dropped")
        inner = session.begin_nested()
        o.outbox.send(session, o.record, "dropped too")
        inner.commit()
        savepoint.rollback()
        session.commit()
    assert o.outbox.flush_marks()
    assert o.outbox.relay_once(o.app).taken == 0
    _drain(o)
    assert sorted(o.runs) == ["outer", "released"]


def test_the_relay_delivers_what_the_committing_process_did_not(
    make_app: MakeApp, database_url: str
) -> None:
    # As if the web process died right after the commit.
    o = make_app(database_url, OUTBOX_DELIVER_AFTER_COMMIT=False, OUTBOX_GRACE=0)
    with EventLog(o.publisher.get_broker(o.app), "things") as log:
        with o.app.app_context():
            session = o.db.session
            o.outbox.publish(session, "things", "thing.added", {"id": 7})
            o.outbox.send(session, o.record, "late")
            session.commit()
        assert all(row.delivered_at is None for row in _rows(o))
        result = o.outbox.relay_once(o.app)
        assert (result.taken, result.delivered, result.outage) == (2, 2, None)
        assert o.outbox.relay_once(o.app).taken == 0
        _drain(o)
        _flush_events(o, log)
    assert [e["data"] for e in log.named("thing.added")] == [{"id": 7}]
    assert o.runs == ["late"]
    assert all(row.delivered_at is not None and row.attempts == 1 for row in _rows(o))


def test_the_relay_leaves_fresh_rows_to_the_committing_process(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url, OUTBOX_DELIVER_AFTER_COMMIT=False, OUTBOX_GRACE=3600)
    with o.app.app_context():
        o.outbox.send(o.db.session, o.record, "fresh")
        o.db.session.commit()
    assert o.outbox.relay_once(o.app).taken == 0
    assert o.outbox.backlog(o.app)[0] == 1


def test_a_row_that_cannot_be_delivered_is_given_up_without_holding_up_the_others(
    make_app: MakeApp, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    o = make_app(database_url, OUTBOX_GRACE=0, OUTBOX_MAX_ATTEMPTS=1)
    elsewhere = Jobs()  # a job this app's workers don't know (e.g. an older worker)

    @elsewhere.actor
    def unknown(name: str) -> None: ...

    with o.app.app_context():
        o.outbox.send(o.db.session, unknown, "x")
        o.outbox.send(o.db.session, o.record, "fine")
        o.db.session.commit()
    assert o.outbox.flush_marks()  # "fine" was delivered after the commit
    with caplog.at_level(logging.ERROR, logger="erlen.ext.outbox"):
        result = o.outbox.relay_once(o.app)
    assert (result.taken, result.delivered, result.failed, result.given_up) == (1, 0, 1, 1)
    assert "giving up" in caplog.text and "No job named 'unknown'" in caplog.text
    assert o.outbox.relay_once(o.app).taken == 0
    _drain(o)
    assert o.runs == ["fine"]
    failed = [row for row in _rows(o) if row.delivered_at is None]
    assert len(failed) == 1 and failed[0].next_attempt_at is None
    assert "No job named 'unknown'" in failed[0].last_error


def test_prune_deletes_delivered_rows_past_the_retention(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url, OUTBOX_RETENTION=0, OUTBOX_DELIVER_AFTER_COMMIT=False)
    with o.app.app_context():
        o.outbox.send(o.db.session, o.record, "delivered")
        o.db.session.commit()
    with o.app.app_context():
        first = o.db.session.execute(sa.select(o.outbox.table.c.id)).scalar_one()
        o.outbox.mark_delivered(o.outbox.engine(o.app), [first])
        o.outbox.send(o.db.session, o.record, "waiting")
        o.db.session.commit()
    assert o.outbox.prune(o.app) == 1
    assert [row.payload["args"] for row in _rows(o)] == [["waiting"]]


def test_intents_that_cannot_be_carried_are_refused_when_recorded(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url)
    with o.app.app_context():
        session = o.db.session
        with pytest.raises(JobArgumentError):
            o.outbox.send(session, o.record, {1, 2})
        with pytest.raises(JobArgumentError):
            o.outbox.send(session, o.record)
        with pytest.raises(InvalidChannel):
            o.outbox.publish(session, "no spaces", "e", {})
        with pytest.raises(InvalidEvent):
            o.outbox.publish(session, "things", "e", {"when": object()})
        session.commit()
    assert _rows(o) == []


def test_a_view_that_records_intents_answers_after_they_are_delivered(
    make_app: MakeApp, database_url: str
) -> None:
    o = make_app(database_url)

    @o.app.post("/things")
    def add_thing() -> tuple[str, int]:
        o.outbox.send(o.db.session, o.record, "from a view")
        o.db.session.commit()
        return "", 201

    assert o.app.test_client().post("/things").status_code == 201
    _drain(o)
    assert o.runs == ["from a view"]
    assert o.outbox.backlog(o.app)[0] == 0
