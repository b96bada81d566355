"""Helpers of the outbox tests: a private ``redis-server``, the test app, an event log."""

from __future__ import annotations

import asyncio
import threading
import typing as t
import uuid

import sqlalchemy as sa

import erlen
from erlen.ext.jobs import Job
from erlen.ext.jobs import Jobs
from erlen.ext.jobs.idempotency import JobKeys
from erlen.ext.outbox import Outbox
from erlen.ext.realtime import Publisher
from erlen.ext.sqlalchemy import SQLAlchemy


class OutboxApp(t.NamedTuple):
    app: erlen.Erlen
    db: SQLAlchemy
    jobs: Jobs
    publisher: Publisher
    outbox: Outbox
    items: sa.Table
    keys: JobKeys
    #: The job: adds ``processed {name}`` to ``items``, once per job id.
    record: Job[[str], None]
    #: Every run of ``record`` (its argument), duplicates included.
    runs: list[str]


def build_app(database_url: str, **config: t.Any) -> OutboxApp:
    """An app with an ``items`` table, job keys, the outbox, jobs and a publisher.

    Its one job, ``record``, adds an item once per job (claiming the job's key).
    """
    db = SQLAlchemy()
    items = sa.Table(
        "items",
        db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )
    keys = JobKeys(db.metadata)
    jobs = Jobs()
    publisher = Publisher()
    outbox = Outbox(db.metadata, jobs=jobs, publisher=publisher)

    runs: list[str] = []

    @jobs.actor(max_retries=0)
    def record(name: str) -> None:
        runs.append(name)
        if not keys.claim(db.session):
            return
        db.session.execute(items.insert().values(name=f"processed {name}"))
        db.session.commit()

    app = erlen.Erlen(f"outbox_{uuid.uuid4().hex[:8]}")
    app.config.update(
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=database_url,
        BROKER_URL="memory://",
        REDIS_URL=f"memory://{uuid.uuid4().hex[:12]}",
        KEY_PREFIX=f"erlen-test-{uuid.uuid4().hex[:12]}",
    )
    app.config.update(config)
    db.init_app(app)
    jobs.init_app(app, command=None)
    publisher.init_app(app)
    outbox.init_app(app)
    with app.app_context():
        db.create_all()
    return OutboxApp(app, db, jobs, publisher, outbox, items, keys, record, runs)


class EventLog:
    """Collects the events of one channel on a thread (``with EventLog(broker, "c") as log``)."""

    def __init__(self, broker: t.Any, channel: str) -> None:
        self.broker = broker
        self.channel = channel
        self.events: list[dict[str, t.Any]] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        try:
            async with self.broker.subscribe(self.channel) as subscription:
                await self.broker.wait_ready(self.channel)
                self._ready.set()
                async for _channel, event in subscription:
                    with self._changed:
                        self.events.append(event)
                        self._changed.notify_all()
        except asyncio.CancelledError:
            pass

    def __enter__(self) -> EventLog:
        self._thread.start()
        assert self._ready.wait(10), "the subscription did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def wait_for(self, event: str, timeout: float = 15.0) -> list[dict[str, t.Any]]:
        """Wait until an event named ``event`` arrived; return every event so far."""
        with self._changed:
            self._changed.wait_for(
                lambda: any(e["event"] == event for e in self.events), timeout=timeout
            )
            assert any(e["event"] == event for e in self.events), f"no {event!r} event"
            return list(self.events)

    def named(self, event: str) -> list[dict[str, t.Any]]:
        with self._changed:
            return [e for e in self.events if e["event"] == event]
