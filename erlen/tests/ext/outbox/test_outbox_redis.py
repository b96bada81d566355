"""The outbox against a real Redis of its own, which the tests kill and restart: a request
never fails for Redis, the relay catches up once Redis is back, a duplicate enqueue runs
its effect once, and two relays on Postgres deliver each row once."""

from __future__ import annotations

import logging
import threading
import typing as t

import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from erlen_tests_private_redis import PrivateRedis
from outbox_support import EventLog
from outbox_support import OutboxApp

from erlen.ext.outbox import Intent
from erlen.ext.outbox import Relay

MakeApp = t.Callable[..., OutboxApp]


def _drain(o: OutboxApp) -> None:
    worker = o.jobs.run_worker_thread(app=o.app, worker_threads=2)
    try:
        o.jobs.join(app=o.app, timeout=30)
    finally:
        worker.stop()


def _processed(o: OutboxApp) -> list[str]:
    with o.app.app_context():
        return sorted(o.db.session.execute(sa.select(o.items.c.name)).scalars())


def _add_thing_view(o: OutboxApp) -> None:
    @o.app.post("/things/<name>")
    def add_thing(name: str) -> tuple[str, int]:
        session = o.db.session
        session.execute(o.items.insert().values(name=name))
        o.outbox.publish(session, "things", "thing.added", {"id": name})
        o.outbox.send(session, o.record, name)
        session.commit()
        return "", 201


def test_redis_down_at_commit_the_request_succeeds_and_the_relay_delivers_when_it_is_back(
    make_app: MakeApp,
    database_url: str,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    o = make_app(
        database_url,
        BROKER_URL=private_redis.url,
        REDIS_URL=private_redis.url,
        OUTBOX_GRACE=0,
        OUTBOX_OUTAGE_MAX_WAIT=0.1,
    )
    _add_thing_view(o)
    client = o.app.test_client()
    caplog.set_level(logging.INFO, logger="erlen.ext.outbox")

    private_redis.kill()
    names = [f"n{i}" for i in range(5)]
    statuses = [client.post(f"/things/{name}").status_code for name in names]
    assert statuses == [201] * 5
    assert _processed(o) == names  # the writes happened
    assert o.outbox.backlog(o.app)[0] == 10  # 5 events and 5 jobs, waiting

    relay = Relay(o.outbox, o.app.extensions["outbox"])
    for _ in range(3):
        relay.step()
    assert relay.outage_since is not None
    assert o.outbox.backlog(o.app)[0] == 10

    private_redis.start()  # empty: whatever was queued before the kill is gone too
    with EventLog(o.publisher.get_broker(o.app), "things") as log:
        while o.outbox.backlog(o.app)[0]:
            relay.step()
        assert relay.outage_since is None
        _drain(o)
        log.wait_for("thing.added")
        with o.app.app_context():
            o.publisher.publish("things", "marker", {})
        log.wait_for("marker")

    added = log.named("thing.added")
    assert sorted(e["data"]["id"] for e in added) == names
    assert len({e["outbox_id"] for e in added}) == 5
    assert sorted(o.runs) == names
    assert _processed(o) == sorted(names + [f"processed {name}" for name in names])

    messages = [record.getMessage() for record in caplog.records]
    # One line each: the committing process gave up on Redis, the outage, the recovery.
    assert sum("Can't deliver after commit" in m for m in messages) == 1
    assert sum("broker is unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
    assert not any(record.exc_info for record in caplog.records)


def test_a_crash_between_enqueue_and_mark_runs_the_effect_once(
    make_app: MakeApp, database_url: str, private_redis: PrivateRedis
) -> None:
    o = make_app(
        database_url,
        BROKER_URL=private_redis.url,
        REDIS_URL=private_redis.url,
        OUTBOX_DELIVER_AFTER_COMMIT=False,
        OUTBOX_GRACE=0,
    )
    with o.app.app_context():
        o.outbox.send(o.db.session, o.record, "once")
        o.db.session.commit()
        row = o.db.session.execute(sa.select(o.outbox.table)).one()
    # The committing process enqueued the job and died before marking the row ...
    intent = Intent(row.id, row.kind, row.target, row.payload, row.attempts)
    assert o.outbox.deliver(o.app, [intent]).delivered == [row.id]
    # ... so the relay enqueues it again.
    assert o.outbox.relay_once(o.app).delivered == 1
    _drain(o)
    assert o.runs == ["once", "once"]  # delivered twice
    assert _processed(o) == ["processed once"]  # applied once


def test_two_relays_on_postgres_deliver_each_row_once(make_app: MakeApp, postgres_url: str) -> None:
    o = make_app(postgres_url, OUTBOX_DELIVER_AFTER_COMMIT=False, OUTBOX_GRACE=0, OUTBOX_BATCH=7)
    with o.app.app_context():
        for i in range(150):
            o.outbox.send(o.db.session, o.record, f"r{i}")
            o.outbox.publish(o.db.session, "things", "thing.added", {"id": i})
        o.db.session.commit()

    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def relay() -> None:
        try:
            start.wait()
            while o.outbox.relay_once(o.app).taken:
                pass
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with o.app.app_context():
        rows = o.db.session.execute(sa.select(o.outbox.table)).all()
    assert len(rows) == 300
    # Each row was delivered exactly once: one attempt, and one message per job row.
    assert {(row.delivered_at is not None, row.attempts) for row in rows} == {(True, 1)}
    broker = o.jobs.broker(o.app)
    assert isinstance(broker, StubBroker)
    assert sum(queue.qsize() for queue in broker.queues.values()) == 150
    _drain(o)
    assert sorted(o.runs) == sorted(f"r{i}" for i in range(150))
