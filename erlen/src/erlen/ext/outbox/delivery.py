"""Handing outbox rows to Redis: events through the realtime broker, jobs through Dramatiq.

Used right after the commit (in the process that committed) and by the relay. A failure
is either an **outage** (the broker can't be reached: nothing more is tried now, and the
rows wait) or a **row problem** (this row can't be delivered, e.g. its job is unknown here:
the row is retried later with backoff, the others go on).
"""

from __future__ import annotations

import time
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field

import dramatiq
import dramatiq.errors
import redis

from ...realtime.errors import BrokerUnavailable
from .table import EVENT
from .table import JOB

if t.TYPE_CHECKING:  # pragma: no cover
    from ...realtime.broker import Broker
    from ..jobs import JobsState

#: Errors that mean "the broker is unreachable", not "this row is bad".
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    redis.RedisError,
    BrokerUnavailable,
    dramatiq.errors.BrokerConnectionError,
    OSError,
)


@dataclass(frozen=True)
class Intent:
    """One outbox row: a job to enqueue or an event to publish."""

    id: uuid.UUID
    kind: str
    target: str
    payload: dict[str, t.Any]
    attempts: int = 0


@dataclass
class Outcome:
    """What a delivery attempt did. Rows in neither list were not tried (an outage)."""

    delivered: list[uuid.UUID] = field(default_factory=list)
    #: Row problems, by row id: a short description of the error.
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    #: The error that stopped the attempt because the broker is unreachable.
    outage: BaseException | None = None


def event_of(intent: Intent) -> dict[str, t.Any]:
    """The realtime event an event row publishes: its payload plus ``outbox_id``."""
    return {**intent.payload, "outbox_id": str(intent.id)}


def job_message(intent: Intent, jobs: JobsState) -> dramatiq.Message[t.Any]:
    """The Dramatiq message a job row enqueues; its message id is the row's id, so every
    delivery of the row (a retry after a crash) is the same job to the consumer.

    :raise LookupError: This process declares no job of that name.
    """
    actor = jobs.actors.get(intent.target)
    if actor is None:
        raise LookupError(f"No job named {intent.target!r} is declared in this process.")
    return dramatiq.Message(
        queue_name=actor.queue_name,
        actor_name=actor.actor_name,
        args=tuple(intent.payload.get("args", ())),
        kwargs=dict(intent.payload.get("kwargs", {})),
        options={**intent.payload.get("options", {}), "outbox_id": str(intent.id)},
        message_id=str(intent.id),
        message_timestamp=int(time.time() * 1000),
    )


def describe(error: BaseException) -> str:
    """``Type: message``, short enough for a log line and the ``last_error`` column."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 500 else text[:497] + "..."


def deliver(
    intents: t.Sequence[Intent],
    *,
    events: t.Callable[[], Broker] | None,
    jobs: t.Callable[[], JobsState] | None,
) -> Outcome:
    """Publish the event rows (in one round trip), then enqueue the job rows, in order.

    :param events: Returns the realtime broker (called only if there are event rows).
    :param jobs: Returns the jobs state (called only if there are job rows).
    """
    outcome = Outcome()
    event_rows = [intent for intent in intents if intent.kind == EVENT]
    job_rows = [intent for intent in intents if intent.kind == JOB]
    for intent in intents:
        if intent.kind not in (EVENT, JOB):
            outcome.failed[intent.id] = f"Unknown outbox row kind {intent.kind!r}."
    if event_rows:
        _publish(event_rows, events, outcome)
        if outcome.outage is not None:
            return outcome
    if job_rows:
        _enqueue(job_rows, jobs, outcome)
    return outcome


def _publish(rows: list[Intent], events: t.Callable[[], Broker] | None, outcome: Outcome) -> None:
    try:
        if events is None:
            raise LookupError("The outbox has no realtime publisher to publish events with.")
        broker = events()
        try:
            broker.publish_many([(row.target, event_of(row)) for row in rows])
        except OUTAGE_ERRORS:
            raise
        except Exception:
            # Every event is checked before any is sent: find the bad one(s), send the rest.
            for row in rows:
                try:
                    broker.publish(row.target, event_of(row))
                except OUTAGE_ERRORS:
                    raise
                except Exception as e:
                    outcome.failed[row.id] = describe(e)
                else:
                    outcome.delivered.append(row.id)
            return
    except OUTAGE_ERRORS as e:
        outcome.outage = e
        return
    except Exception as e:  # no publisher set up: every event row has the problem
        for row in rows:
            outcome.failed[row.id] = describe(e)
        return
    outcome.delivered.extend(row.id for row in rows)


def _enqueue(rows: list[Intent], jobs: t.Callable[[], JobsState] | None, outcome: Outcome) -> None:
    try:
        if jobs is None:
            raise LookupError("The outbox has no jobs extension to enqueue jobs with.")
        state = jobs()
    except Exception as e:
        for row in rows:
            outcome.failed[row.id] = describe(e)
        return
    for row in rows:
        try:
            state.broker.enqueue(job_message(row, state))
        except OUTAGE_ERRORS as e:
            outcome.outage = e
            return
        except Exception as e:
            outcome.failed[row.id] = describe(e)
        else:
            outcome.delivered.append(row.id)
