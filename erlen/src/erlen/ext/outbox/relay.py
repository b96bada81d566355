"""The relay: delivers what the committing process didn't, retrying until Redis is back.

One thread per worker process (and in embedded mode), started with the job worker. Each
pass takes the due rows in one transaction (``FOR UPDATE SKIP LOCKED`` on Postgres, so
relays on several replicas never take the same row), delivers them, and marks them. While
the broker is unreachable it waits longer between passes (up to ``OUTBOX_OUTAGE_MAX_WAIT``
seconds) and logs one warning when the outage starts and one line when it ends, with the
backlog's size and age, never a traceback per retry.
"""

from __future__ import annotations

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
import sqlalchemy.exc as sa_exc

from .delivery import describe
from .delivery import Intent

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import Outbox
    from .extension import OutboxState

logger = logging.getLogger("erlen.ext.outbox")

#: Longest wait between passes while the broker is unreachable, by default (seconds).
DEFAULT_OUTAGE_MAX_WAIT = 10.0
#: Seconds between the relay's "behind" lines while it has a backlog.
BACKLOG_LOG_INTERVAL = 30.0
#: Seconds between prunes of old delivered rows.
PRUNE_INTERVAL = 600.0


@dataclass(frozen=True)
class RelayPass:
    """What one relay pass did."""

    #: Rows taken (due and not locked by another relay).
    taken: int = 0
    delivered: int = 0
    #: Rows that failed for a reason of their own (retried later, with backoff).
    failed: int = 0
    #: Of those, rows that reached ``OUTBOX_MAX_ATTEMPTS`` and won't be tried again.
    given_up: int = 0
    #: Set when the broker was unreachable (the rows not delivered wait for the next pass).
    outage: BaseException | None = None


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; everything the outbox stores is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def backlog(table: sa.Table, connection: sa.Connection) -> tuple[int, float | None]:
    """How many rows wait for delivery, and the age in seconds of the oldest."""
    row = connection.execute(
        sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(
            table.c.next_attempt_at.is_not(None)
        )
    ).one()
    count, oldest = int(row[0]), row[1]
    if oldest is None:
        return count, None
    if isinstance(oldest, str):  # SQLite computes min() on the stored text
        oldest = datetime.fromisoformat(oldest)
    return count, max(0.0, (datetime.now(UTC) - _utc(oldest)).total_seconds())


def row_backoff(attempts: int, max_backoff: float) -> float:
    """Seconds before a row that failed ``attempts`` times is tried again: 1, 2, 4, ..."""
    return float(min(max_backoff, 2.0 ** min(attempts - 1, 30)))


def relay_once(outbox: Outbox, state: OutboxState) -> RelayPass:
    """One pass; see :meth:`Outbox.relay_once`."""
    table = outbox.table
    now = datetime.now(UTC)
    with outbox.engine(state.app).begin() as connection:
        query = (
            sa.select(table.c.id, table.c.kind, table.c.target, table.c.payload, table.c.attempts)
            .where(table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at)
            .limit(state.batch)
        )
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = connection.execute(query).all()
        if not rows:
            return RelayPass()
        intents = [Intent(row.id, row.kind, row.target, row.payload, row.attempts) for row in rows]
        with state.app.app_context():
            outcome = outbox.deliver(state.app, intents)
        if outcome.delivered:
            outbox.mark_delivered(connection, outcome.delivered)
        given_up = 0
        by_id: dict[uuid.UUID, Intent] = {intent.id: intent for intent in intents}
        for row_id, error in outcome.failed.items():
            attempts = by_id[row_id].attempts + 1
            if attempts >= state.max_attempts:
                given_up += 1
                next_attempt = None
                logger.error(
                    "Outbox row %s (%s %r) failed %d times; giving up: %s",
                    row_id,
                    by_id[row_id].kind,
                    by_id[row_id].target,
                    attempts,
                    error,
                )
            else:
                next_attempt = now + timedelta(seconds=row_backoff(attempts, state.max_backoff))
                if attempts == 1:
                    logger.warning(
                        "Outbox row %s (%s %r) can't be delivered; retrying with backoff: %s",
                        row_id,
                        by_id[row_id].kind,
                        by_id[row_id].target,
                        error,
                    )
            connection.execute(
                table.update()
                .where(table.c.id == row_id)
                .values(attempts=attempts, next_attempt_at=next_attempt, last_error=error)
            )
    return RelayPass(
        taken=len(rows),
        delivered=len(outcome.delivered),
        failed=len(outcome.failed),
        given_up=given_up,
        outage=outcome.outage,
    )


class Relay:
    """The relay thread of one app in this process (see :meth:`Outbox.start_relay`)."""

    def __init__(self, outbox: Outbox, state: OutboxState) -> None:
        self.outbox = outbox
        self.state = state
        self.outage_max_wait = float(
            state.app.config.get("OUTBOX_OUTAGE_MAX_WAIT", DEFAULT_OUTAGE_MAX_WAIT)
        )
        #: Since when (``time.monotonic()``) the broker has been unreachable, if it is.
        self.outage_since: float | None = None
        self._database_since: float | None = None
        self._wait = 0.0
        self._last_backlog_log = 0.0
        self._next_prune = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erlen-outbox-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.step()

    def step(self) -> float:
        """Run one pass (and a prune when one is due); return the seconds to wait."""
        try:
            result = self.outbox.relay_once(self.state.app)
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + PRUNE_INTERVAL
                self.outbox.prune(self.state.app)
        except sa_exc.SQLAlchemyError as e:
            if self._database_since is None:
                self._database_since = time.monotonic()
                logger.warning(
                    "The outbox relay can't reach the database (%s); retrying.", describe(e)
                )
            return self._backoff()
        except Exception:
            logger.exception("The outbox relay's pass failed; retrying.")
            return self._backoff()
        if self._database_since is not None:
            logger.info(
                "The outbox relay reaches the database again after %.1f s.",
                time.monotonic() - self._database_since,
            )
            self._database_since = None
        if result.outage is not None:
            if self.outage_since is None:
                self.outage_since = time.monotonic()
                count, age = self._backlog()
                logger.warning(
                    "The broker is unreachable (%s): %d outbox row(s) waiting, the oldest %s;"
                    " the relay retries until it is back.",
                    describe(result.outage),
                    count,
                    _age(age),
                )
            return self._backoff()
        if self.outage_since is not None:
            count, age = self._backlog()
            logger.info(
                "The broker is reachable again after %.1f s: delivered %d, %d waiting"
                " (the oldest %s).",
                time.monotonic() - self.outage_since,
                result.delivered,
                count,
                _age(age),
            )
            self.outage_since = None
            self.state.note_success()
        elif result.taken and time.monotonic() - self._last_backlog_log >= BACKLOG_LOG_INTERVAL:
            # The committing processes didn't deliver these: say how far behind we are.
            count, age = self._backlog()
            self._last_backlog_log = time.monotonic()
            logger.info(
                "The outbox relay delivered %d row(s); %d waiting (the oldest %s).",
                result.delivered,
                count,
                _age(age),
            )
        self._wait = 0.0
        # A full batch means more may be due: go on at once.
        return 0.0 if result.taken >= self.state.batch else self.state.interval

    def _backoff(self) -> float:
        self._wait = min(self.outage_max_wait, max(self.state.interval, self._wait * 2))
        return self._wait

    def _backlog(self) -> tuple[int, float | None]:
        try:
            return self.outbox.backlog(self.state.app)
        except sa_exc.SQLAlchemyError:
            return -1, None


def _age(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds:.0f} s old"
