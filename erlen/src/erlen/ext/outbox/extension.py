"""The :class:`Outbox` extension: record intents in a transaction, deliver them after it."""

from __future__ import annotations

import json
import logging
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm
from sqlalchemy import event as sa_event

from ...globals import get_app
from ...realtime.broker import encode_event
from ...realtime.protocol import validate_channel
from ..sqlalchemy.session import SessionLike
from .delivery import deliver
from .delivery import describe
from .delivery import Intent
from .delivery import Outcome
from .marking import Marker
from .table import DEFAULT_TABLE
from .table import EVENT
from .table import JOB
from .table import outbox_table
from .table import TARGET_LENGTH

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from ...realtime.broker import Broker
    from ..jobs import Job
    from ..jobs import Jobs
    from ..jobs import JobsState
    from ..realtime import Publisher
    from .relay import Relay
    from .relay import RelayPass

logger = logging.getLogger("erlen.ext.outbox")

#: Seconds the relay leaves a fresh row to the process that committed it.
DEFAULT_GRACE = 10.0
#: Seconds between the relay's looks at the table when it is idle.
DEFAULT_INTERVAL = 1.0
#: Rows the relay takes per transaction.
DEFAULT_BATCH = 100
#: Longest wait (seconds) between the relay's attempts while Redis is down, and between
#: retries of a row that failed for a reason of its own.
DEFAULT_MAX_BACKOFF = 60.0
#: Attempts before a row that keeps failing for a reason of its own is given up.
DEFAULT_MAX_ATTEMPTS = 10
#: Seconds delivered rows are kept before the relay deletes them.
DEFAULT_RETENTION = 24 * 3600.0
#: Seconds after a failed delivery during which committing processes don't try Redis
#: themselves (the relay delivers), so an outage costs requests nothing.
DEFAULT_COOLDOWN = 5.0

_PENDING = "erlen.outbox.pending"

EngineGetter = t.Callable[["Erlen"], sa.Engine]


@dataclass
class _Pending:
    """An intent recorded in a session, waiting for its transaction to end."""

    outbox: Outbox
    app: Erlen
    intent: Intent
    #: The (nested) transaction it was recorded in: a rolled-back savepoint drops it.
    transaction: sa_orm.SessionTransaction | None
    #: The row, inserted with the others when the transaction commits.
    row: dict[str, t.Any]


class OutboxState:
    """What :meth:`Outbox.init_app` stores in ``app.extensions["outbox"]``."""

    def __init__(self, outbox: Outbox, app: Erlen) -> None:
        config = app.config
        self.outbox = outbox
        self.app = app
        self.grace = float(config.get("OUTBOX_GRACE", DEFAULT_GRACE))
        self.interval = float(config.get("OUTBOX_RELAY_INTERVAL", DEFAULT_INTERVAL))
        self.batch = int(config.get("OUTBOX_BATCH", DEFAULT_BATCH))
        self.max_backoff = float(config.get("OUTBOX_MAX_BACKOFF", DEFAULT_MAX_BACKOFF))
        self.max_attempts = int(config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
        self.retention = float(config.get("OUTBOX_RETENTION", DEFAULT_RETENTION))
        self.cooldown = float(config.get("OUTBOX_COOLDOWN", DEFAULT_COOLDOWN))
        #: Whether committing processes deliver right after the commit (``OUTBOX_DELIVER_
        #: AFTER_COMMIT``); off, only the relay delivers.
        self.deliver_after_commit = bool(config.get("OUTBOX_DELIVER_AFTER_COMMIT", True))
        #: Whether the rows delivered after a commit are marked by a background thread
        #: (``OUTBOX_MARK_IN_BACKGROUND``; never on SQLite, whose writers would contend).
        self.mark_in_background = bool(config.get("OUTBOX_MARK_IN_BACKGROUND", True))
        #: Until when (``time.monotonic()``) committing processes leave delivery to the relay.
        self.skip_until = 0.0
        #: The relay this process runs, if any.
        self.relay: Relay | None = None
        self._lock = threading.Lock()

    def note_outage(self, error: BaseException) -> None:
        """Leave delivery to the relay for ``cooldown`` seconds; say so once."""
        with self._lock:
            first = self.skip_until == 0.0
            self.skip_until = time.monotonic() + self.cooldown
        if first:
            logger.warning(
                "Can't deliver after commit (%s); the outbox relay delivers once the broker is"
                " back.",
                describe(error),
            )

    def note_success(self) -> None:
        with self._lock:
            self.skip_until = 0.0

    def skipping(self) -> bool:
        return time.monotonic() < self.skip_until


class Outbox:
    """Jobs and events that happen if, and only if, the transaction that implies them commits.

    ``outbox = Outbox(db.metadata, jobs=jobs, publisher=publisher)`` declares the outbox
    table on your metadata (migrate it like any table), then in a use case::

        session.add(order)
        outbox.send(session, charge, order.id)              # a job
        outbox.publish(session, "orders", "order.placed", {"id": order.id})
        session.commit()  # the order and both intents, together

    The transaction's intents are inserted in one statement as it commits. After the commit,
    the committing process enqueues and publishes them at once and a background thread marks
    them delivered; what
    it could not deliver (Redis down, the process died) the **relay** does, retrying until
    Redis is back. A rollback drops them. See ``docs/ext/outbox.md``.

    :param metadata: The metadata your migrations are generated from.
    :param jobs: The jobs extension the jobs are declared on.
    :param publisher: The realtime publisher events go through.
    :param table_name: The outbox table's name.
    :param engine: Returns the engine the relay uses for an app; by default, the app's
        ``erlen.ext.sqlalchemy`` engine for the table's bind.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        metadata: sa.MetaData,
        *,
        jobs: Jobs | None = None,
        publisher: Publisher | None = None,
        table_name: str = DEFAULT_TABLE,
        engine: EngineGetter | None = None,
        app: Erlen | None = None,
    ) -> None:
        self.table = outbox_table(metadata, table_name)
        self.jobs = jobs
        self.publisher = publisher
        self._engine = engine
        self._marker: Marker | None = None
        self._marker_lock = threading.Lock()
        _listen_to_sessions()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Erlen) -> None:
        """Store the settings (``OUTBOX_*``) and run the relay beside every job worker
        of the app (call it after ``jobs.init_app(app)``)."""
        state = OutboxState(self, app)
        app.extensions["outbox"] = state
        if self.jobs is not None and "jobs" in app.extensions:
            self.jobs.state(app).add_worker_service(lambda: self.start_relay(app))

    def state(self, app: Erlen | None = None) -> OutboxState:
        """The outbox state of ``app`` (default: the current app)."""
        app = get_app("Outbox", app)
        state = app.extensions.get("outbox")
        if not isinstance(state, OutboxState) or state.outbox is not self:
            raise RuntimeError(
                f"The app {app.name!r} has no outbox: call 'outbox.init_app(app)' first."
            )
        return state

    def engine(self, app: Erlen) -> sa.Engine:
        """The engine the relay reads and marks the table with, for ``app``."""
        if self._engine is not None:
            return self._engine(app)
        db = app.extensions.get("sqlalchemy")
        if db is None:
            raise RuntimeError(
                "The outbox needs the app's database: set up erlen.ext.sqlalchemy, or pass"
                " Outbox(engine=...)."
            )
        bind_key = self.table.metadata.info.get("bind_key")
        return t.cast(sa.Engine, db.engines_for(app)[bind_key])

    # -- recording ------------------------------------------------------------------------

    def send(
        self, session: SessionLike, job: Job[t.Any, t.Any], /, *args: t.Any, **kwargs: t.Any
    ) -> uuid.UUID:
        """Record that ``job`` must be enqueued with these arguments once ``session``'s
        transaction commits; returns the intent's id (the job's message id).

        :raise JobArgumentError: The arguments don't fit the job or can't be serialised;
            nothing was recorded.
        """
        return self.send_with_options(session, job, args=args, kwargs=kwargs)

    def send_with_options(
        self,
        session: SessionLike,
        job: Job[t.Any, t.Any],
        /,
        *,
        args: t.Sequence[t.Any] = (),
        kwargs: dict[str, t.Any] | None = None,
        **options: t.Any,
    ) -> uuid.UUID:
        """:meth:`send` with message options, as Dramatiq's ``send_with_options``: e.g.
        ``progress_channel="user.7"`` to follow the job (see ``docs/ext/jobs.md``).

        :raise JobArgumentError: The arguments don't fit the job or can't be serialised;
            nothing was recorded.
        :raise TypeError: An option can't be stored as JSON; nothing was recorded.
        """
        kwargs = dict(kwargs or {})
        job.check_arguments(tuple(args), kwargs)
        payload: dict[str, t.Any] = {"args": list(args), "kwargs": kwargs}
        if options:
            json.dumps(options)  # stored as JSON with the row: refuse what can't be, now
            payload["options"] = options
        return self._record(session, JOB, job.actor_name, payload)

    def publish(
        self, session: SessionLike, channel: str, event: str, data: t.Any, *, id: t.Any = None
    ) -> uuid.UUID:
        """Record that ``event`` must be published on ``channel`` once ``session``'s
        transaction commits; returns the intent's id, which the event carries as
        ``outbox_id`` (clients de-duplicate with it: delivery is at least once).

        ``id`` defaults to ``data["id"]``, as in :meth:`Publisher.publish`.

        :raise InvalidChannel, InvalidEvent: The event can't be carried; nothing was recorded.
        """
        validate_channel(channel)
        if id is None and isinstance(data, t.Mapping):
            id = data.get("id")
        payload = {"event": event, "data": data, "id": id}
        # Checked now, in the request, rather than found undeliverable by the relay later.
        encode_event(channel, {**payload, "outbox_id": str(uuid.UUID(int=0))})
        return self._record(session, EVENT, channel, payload)

    def _record(
        self, session: SessionLike, kind: str, target: str, payload: dict[str, t.Any]
    ) -> uuid.UUID:
        if len(target) > TARGET_LENGTH:
            raise ValueError(f"{target[:40]!r}... is longer than {TARGET_LENGTH} characters.")
        # db.session is a scoped session: the hooks see the real one.
        real: sa_orm.Session = session() if isinstance(session, sa_orm.scoped_session) else session
        app = get_app("Outbox")
        state = self.state(app)
        now = datetime.now(UTC)
        intent = Intent(uuid.uuid4(), kind, target, payload)
        row = {
            "id": intent.id,
            "kind": kind,
            "target": target,
            "payload": payload,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now + timedelta(seconds=state.grace),
        }
        # Inserted when the transaction commits, with every other intent in one statement.
        # The transaction must exist now, so that ending it without a commit drops the intent.
        if not real.in_transaction():
            real.begin()
        transaction = real.get_nested_transaction() or real.get_transaction()
        real.info.setdefault(_PENDING, []).append(_Pending(self, app, intent, transaction, row))
        return intent.id

    # -- delivering -----------------------------------------------------------------------

    def _event_broker(self, app: Erlen) -> t.Callable[[], Broker] | None:
        if self.publisher is not None:
            publisher = self.publisher
            return lambda: publisher.get_broker(app)
        if "realtime" in app.extensions:
            return lambda: t.cast("Broker", app.extensions["realtime"])
        return None

    def _jobs_state(self, app: Erlen) -> t.Callable[[], JobsState] | None:
        if self.jobs is not None:
            jobs = self.jobs
            return lambda: jobs.state(app)
        if "jobs" in app.extensions:
            return lambda: t.cast("JobsState", app.extensions["jobs"])
        return None

    def deliver(self, app: Erlen, intents: t.Sequence[Intent]) -> Outcome:
        """Enqueue and publish ``intents`` now (without marking them)."""
        return deliver(intents, events=self._event_broker(app), jobs=self._jobs_state(app))

    def _after_commit(self, app: Erlen, engine: sa.Engine, intents: list[Intent]) -> None:
        """Deliver what a transaction committed and mark it; never raise."""
        state = app.extensions.get("outbox")
        if not isinstance(state, OutboxState) or not state.deliver_after_commit:
            return
        if state.skipping():
            return  # a recent attempt found the broker down: the relay delivers
        try:
            outcome = self.deliver(app, intents)
            if outcome.outage is not None:
                state.note_outage(outcome.outage)
            else:
                state.note_success()
            if outcome.delivered and state.mark_in_background and engine.dialect.name != "sqlite":
                self.marker.add(engine, list(outcome.delivered))
            elif outcome.delivered:
                self.mark_delivered(engine, outcome.delivered)
        except Exception:
            # The commit succeeded; the relay will deliver whatever wasn't marked.
            logger.exception("Delivering the outbox after a commit failed; the relay will.")

    @property
    def marker(self) -> Marker:
        """The background thread's queue of rows to mark delivered (made on first use)."""
        with self._marker_lock:
            if self._marker is None:
                self._marker = Marker(self)
            return self._marker

    def flush_marks(self, timeout: float | None = 5.0) -> bool:
        """Wait until the rows delivered after commits are marked; ``False`` on timeout.

        Marking happens in the background (``OUTBOX_MARK_IN_BACKGROUND``); tests and tools
        that read the table call this first.
        """
        return self._marker is None or self._marker.flush(timeout)

    def mark_delivered(self, engine: sa.Engine | sa.Connection, ids: t.Sequence[uuid.UUID]) -> None:
        """Mark rows delivered, in one statement (its own transaction on an engine)."""
        statement = (
            self.table.update()
            .where(self.table.c.id.in_(ids))
            .values(
                delivered_at=datetime.now(UTC),
                next_attempt_at=None,
                attempts=self.table.c.attempts + 1,
                last_error=None,
            )
        )
        if isinstance(engine, sa.Connection):
            engine.execute(statement)
            return
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A mark lost in a crash only means one more (harmless) delivery, so it
                # needn't wait for the WAL flush: a second durable commit per request
                # would nearly double a small write's latency.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            connection.execute(statement)

    # -- the relay ------------------------------------------------------------------------

    def relay_once(self, app: Erlen | None = None) -> RelayPass:
        """Take the due rows (up to ``OUTBOX_BATCH``), deliver them and record the result,
        in one transaction. On Postgres the rows are locked with ``SKIP LOCKED``, so several
        relays never take the same row."""
        from .relay import relay_once

        return relay_once(self, self.state(app))

    def start_relay(self, app: Erlen | None = None) -> Relay:
        """Start the relay thread of ``app`` in this process; ``.stop()`` it when done."""
        from .relay import Relay

        state = self.state(app)
        relay = Relay(self, state)
        relay.start()
        state.relay = relay
        return relay

    def backlog(self, app: Erlen | None = None) -> tuple[int, float | None]:
        """How many rows wait for delivery, and the age in seconds of the oldest."""
        from .relay import backlog

        state = self.state(app)
        with self.engine(state.app).connect() as connection:
            return backlog(self.table, connection)

    def prune(self, app: Erlen | None = None) -> int:
        """Delete rows delivered more than ``OUTBOX_RETENTION`` seconds ago; returns how many."""
        state = self.state(app)
        cutoff = datetime.now(UTC) - timedelta(seconds=state.retention)
        with self.engine(state.app).begin() as connection:
            result = connection.execute(
                self.table.delete().where(self.table.c.delivered_at < cutoff)
            )
        return int(result.rowcount or 0)


# -- the session hooks ------------------------------------------------------------------
#
# Listening on the Session class (once per process) covers every session, scoped or not;
# a session that recorded nothing pays one dict lookup per commit.

_listening = False
_listening_lock = threading.Lock()


def _listen_to_sessions() -> None:
    global _listening
    with _listening_lock:
        if _listening:
            return
        sa_event.listen(sa_orm.Session, "before_commit", _on_before_commit)
        sa_event.listen(sa_orm.Session, "after_commit", _on_commit)
        sa_event.listen(sa_orm.Session, "after_soft_rollback", _on_rollback)
        sa_event.listen(sa_orm.Session, "after_transaction_end", _on_transaction_end)
        _listening = True


def _on_before_commit(session: sa_orm.Session) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    # A savepoint's release commits nothing yet: the rows go in with the outermost commit
    # (what a rolled-back savepoint recorded has been dropped from the list by then).
    if not pending or session.get_nested_transaction() is not None:
        return
    rows: dict[int, tuple[sa.Table, list[dict[str, t.Any]]]] = {}
    for item in pending:
        table = item.outbox.table
        rows.setdefault(id(table), (table, []))[1].append(item.row)
    for table, values in rows.values():
        session.execute(table.insert(), values)


def _on_commit(session: sa_orm.Session) -> None:
    if _PENDING not in session.info or session.get_nested_transaction() is not None:
        return  # nothing recorded, or only a savepoint was released: wait for the end
    pending: list[_Pending] = session.info.pop(_PENDING)
    groups: dict[tuple[int, int], list[_Pending]] = {}
    for item in pending:
        groups.setdefault((id(item.outbox), id(item.app)), []).append(item)
    for items in groups.values():
        outbox, app = items[0].outbox, items[0].app
        try:
            bind = session.get_bind(clause=outbox.table)
            engine = bind if isinstance(bind, sa.Engine) else bind.engine
        except Exception:
            logger.exception("No engine to mark the outbox with; the relay will deliver.")
            continue
        outbox._after_commit(app, engine, [item.intent for item in items])


def _on_rollback(session: sa_orm.Session, previous: sa_orm.SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if not pending:
        return
    if not previous.nested:
        del session.info[_PENDING]
        return
    # A savepoint rolled back: drop what was recorded inside it (or inside its savepoints).
    session.info[_PENDING] = [item for item in pending if not _inside(item.transaction, previous)]


def _on_transaction_end(session: sa_orm.Session, transaction: sa_orm.SessionTransaction) -> None:
    # The outermost transaction ended without a commit (closed, or rolled back): nothing
    # it recorded may be delivered, even if the session is used again.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _inside(
    transaction: sa_orm.SessionTransaction | None, ancestor: sa_orm.SessionTransaction
) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
