"""JobKeys: a duplicate delivery is a no-op, and the key commits with the job's effect."""

from __future__ import annotations

import threading
import typing as t
from datetime import datetime
from datetime import UTC

import dramatiq
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import erlen
from erlen.ext.jobs import Jobs
from erlen.ext.jobs.idempotency import JobKeys


@pytest.fixture
def database(database_url: str) -> t.Iterator[tuple[sa.Engine, sa.Table, JobKeys]]:
    metadata = sa.MetaData()
    charges = sa.Table(
        "charges",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, nullable=False),
    )
    keys = JobKeys(metadata)
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    yield engine, charges, keys
    engine.dispose()


def test_a_duplicate_delivery_is_a_no_op_and_a_failed_one_leaves_no_key(
    app: erlen.Erlen, database: tuple[sa.Engine, sa.Table, JobKeys]
) -> None:
    engine, charges, keys = database
    jobs = Jobs()
    fail_once = threading.Event()
    fail_once.set()
    claims: list[bool] = []

    @jobs.actor(max_retries=2, min_backoff=10, max_backoff=20)
    def charge(order_id: int) -> None:
        with Session(engine) as session:
            claimed = keys.claim(session)
            claims.append(claimed)
            if not claimed:
                return
            session.execute(charges.insert().values(order_id=order_id))
            if fail_once.is_set():
                fail_once.clear()
                raise ConnectionError("the payment provider timed out")  # rolled back
            session.commit()

    jobs.init_app(app)
    broker = jobs.broker(app)
    message: dramatiq.Message[t.Any] = charge.send_with_options(args=(42,), app=app)
    broker.enqueue(message)  # the same message delivered twice
    worker = jobs.run_worker_thread(app=app, worker_threads=1)
    try:
        jobs.join(app=app)
    finally:
        worker.stop()
        app.extensions["jobs"].close()
    # The first attempt failed and rolled back its key; of the rest, exactly one charged.
    assert claims.count(True) == 2 and len(claims) == 3
    with Session(engine) as session:
        assert session.execute(sa.select(charges.c.order_id)).scalars().all() == [42]
        assert keys.seen(session, message.message_id)


def test_claim_with_an_explicit_key_and_cleanup(
    database: tuple[sa.Engine, sa.Table, JobKeys],
) -> None:
    engine, charges, keys = database
    with Session(engine) as session:
        assert keys.claim(session, "order-7:email") is True
        session.execute(charges.insert().values(order_id=7))
        session.commit()
    with Session(engine) as session:
        assert keys.claim(session, "order-7:email") is False
        # The duplicate inserted nothing and raised nothing: this session's work goes on.
        session.execute(charges.insert().values(order_id=8))
        session.commit()
        assert session.execute(sa.select(sa.func.count()).select_from(charges)).scalar() == 2
    with Session(engine) as session:
        assert keys.forget_older_than(session, datetime(2999, 1, 1, tzinfo=UTC)) == 1
        session.commit()
        assert keys.claim(session, "order-7:email") is True
    with pytest.raises(RuntimeError, match="needs a key outside a running job"):
        with Session(engine) as session:
            keys.claim(session)


@pytest.mark.parametrize("first_commits", [True, False])
def test_concurrent_deliveries_on_postgres_wait_for_the_first_outcome(
    postgres_url: str, first_commits: bool
) -> None:
    metadata = sa.MetaData()
    keys = JobKeys(metadata)
    engine = sa.create_engine(postgres_url)
    metadata.create_all(engine)
    second_result: list[bool] = []
    try:
        with Session(engine) as first:
            assert keys.claim(first, "run-1") is True

            def second_delivery() -> None:
                with Session(engine) as second:
                    second_result.append(keys.claim(second, "run-1"))
                    second.commit()

            thread = threading.Thread(target=second_delivery)
            thread.start()
            thread.join(0.5)
            assert thread.is_alive()  # waiting on the first transaction's key
            if first_commits:
                first.commit()
            else:
                first.rollback()
            thread.join(10)
        assert second_result == [not first_commits]
    finally:
        engine.dispose()
