"""Periodic jobs: a schedule in configuration, enqueued by exactly one scheduler.

``JOBS_SCHEDULE`` maps an entry name to what to send and when::

    JOBS_SCHEDULE = {
        "nightly-digest": {"cron": "0 3 * * *", "job": "send_digest"},
        "cleanup": {"cron": "*/10 * * * *", "job": "purge_old", "kwargs": {"days": 30}},
    }

Every worker runs a scheduler thread, but only the holder of a Redis lock
(``{namespace}:scheduler:lock``, set with an expiry and renewed every third of it) sends
anything, so N worker replicas send each run once. When the holder dies, its lock expires
(``JOBS_SCHEDULER_LOCK_TTL``, 10 s) and another worker takes over. Each run is an ordinary
message with a deterministic id (a UUID of the entry and the run time), so the job's
idempotency key can use it.

Which run is next is decided from the last run time stored per entry
(``{namespace}:schedule:{name}``), moved forward with a compare-and-set, so two
schedulers that briefly both believe they hold the lock still send a run once.

Missed runs: when no scheduler ran at a run time (every worker down, or the hand-over
after a crash), the runs missed are coalesced into **one** catch-up run, sent as soon as a
scheduler is back, if the newest missed run time is at most ``JOBS_SCHEDULE_MISSED_GRACE``
seconds old (default 3600); older misses are skipped. An entry seen for the first time
starts with its next run time (nothing is sent for the past).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import UTC

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from .cron import Cron

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import JobsState

logger = logging.getLogger("erlen.ext.jobs")

#: ms before a dead scheduler's lock expires and another worker takes over.
DEFAULT_LOCK_TTL = 10_000
#: Seconds a missed run may be late and still be sent (once).
DEFAULT_MISSED_GRACE = 3600

_RUN_NAMESPACE = uuid.UUID("9a1f0b8e-5d2c-4e55-9d8c-0e7f2f3a6b11")

# Renew only our own lock; take it over only if it is free.
_RENEW = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("pexpire", KEYS[1], ARGV[2])
end
return 0
"""
# Move an entry's last run time forward only from the value we read.
_ADVANCE = """
local current = redis.call("get", KEYS[1])
if (current == false and ARGV[1] == "") or current == ARGV[1] then
    redis.call("set", KEYS[1], ARGV[2])
    return 1
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    """One line of ``JOBS_SCHEDULE``."""

    name: str
    cron: Cron
    job: str
    args: tuple[t.Any, ...] = ()
    kwargs: dict[str, t.Any] = field(default_factory=dict)
    queue_name: str | None = None

    @classmethod
    def from_config(cls, name: str, spec: t.Mapping[str, t.Any]) -> Entry:
        unknown = set(spec) - {"cron", "job", "args", "kwargs", "queue"}
        if unknown or "cron" not in spec or "job" not in spec:
            raise ValueError(
                f"JOBS_SCHEDULE entry {name!r} needs 'cron' and 'job' (and may have 'args',"
                f" 'kwargs', 'queue'); got {sorted(spec)}."
            )
        return cls(
            name=name,
            cron=Cron(spec["cron"]),
            job=spec["job"],
            args=tuple(spec.get("args", ())),
            kwargs=dict(spec.get("kwargs", {})),
            queue_name=spec.get("queue"),
        )


def parse_schedule(config: t.Any) -> list[Entry]:
    """The entries of a ``JOBS_SCHEDULE`` value (a mapping of name to spec)."""
    if not config:
        return []
    if not isinstance(config, t.Mapping):
        raise ValueError("JOBS_SCHEDULE must map entry names to {'cron': ..., 'job': ...}.")
    return [Entry.from_config(name, spec) for name, spec in config.items()]


def run_id(entry: Entry, when: datetime) -> str:
    """The message id of ``entry``'s run at ``when``: the same for every scheduler."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{entry.name}@{when.isoformat()}"))


class _MemoryCoordination:
    """The lock and last-run times of one process (``memory://``)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lock = threading.Lock()
        self.holder: str | None = None

    def acquire(self, token: str, ttl_ms: int) -> bool:
        with self.lock:
            if self.holder in (None, token):
                self.holder = token
                return True
            return False

    def release(self, token: str) -> None:
        with self.lock:
            if self.holder == token:
                self.holder = None

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def advance(self, key: str, old: str | None, new: str) -> bool:
        with self.lock:
            if self.values.get(key) != old:
                return False
            self.values[key] = new
            return True


class _RedisCoordination:
    def __init__(self, client: redis.Redis, lock_key: str) -> None:
        self.client = client
        self.lock_key = lock_key
        self._renew = client.register_script(_RENEW)
        self._advance = client.register_script(_ADVANCE)

    def acquire(self, token: str, ttl_ms: int) -> bool:
        if self._renew(keys=[self.lock_key], args=[token, ttl_ms]):
            return True
        return bool(self.client.set(self.lock_key, token, nx=True, px=ttl_ms))

    def release(self, token: str) -> None:
        # Expire it now if it is still ours, so a graceful stop hands over at once.
        self._renew(keys=[self.lock_key], args=[token, 1])

    def get(self, key: str) -> str | None:
        value = self.client.get(key)
        return None if value is None else t.cast(bytes, value).decode()

    def advance(self, key: str, old: str | None, new: str) -> bool:
        return bool(self._advance(keys=[key], args=[old or "", new]))


_memory: dict[int, _MemoryCoordination] = {}


class Scheduler:
    """Sends the runs of ``entries`` while it holds the scheduler lock."""

    def __init__(
        self,
        state: JobsState,
        entries: list[Entry],
        *,
        lock_ttl: int = DEFAULT_LOCK_TTL,
        missed_grace: float = DEFAULT_MISSED_GRACE,
        tick: float = 0.5,
        clock: t.Callable[[], datetime] | None = None,
    ) -> None:
        self.state = state
        self.entries = entries
        self.lock_ttl = lock_ttl
        self.missed_grace = missed_grace
        self.tick = tick
        self.clock = clock or (lambda: datetime.now(UTC))
        #: Unique to this scheduler: host, process, random part.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        broker = state.broker
        self._coordination: _MemoryCoordination | _RedisCoordination
        if isinstance(broker, RedisBroker):
            self._coordination = _RedisCoordination(
                broker.client, f"{state.namespace}:scheduler:lock"
            )
        else:
            self._coordination = _memory.setdefault(id(broker), _MemoryCoordination())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erlen-jobs-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop and give the lock up, so another worker's scheduler takes over at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._coordination.release(self.token)
        except redis.RedisError:
            pass

    def _run(self) -> None:
        renew_every = self.lock_ttl / 3000
        last_renew = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now - last_renew >= renew_every or not self.is_leader:
                    leader = self._coordination.acquire(self.token, self.lock_ttl)
                    last_renew = now
                    if leader != self.is_leader:
                        logger.info(
                            "Scheduler %s %s the lock.", self.token, "took" if leader else "lost"
                        )
                    self.is_leader = leader
                if self.is_leader:
                    self.run_due()
            except redis.RedisError as e:
                self.is_leader = False
                logger.warning("Scheduler: Redis error (%s); retrying.", type(e).__name__)
            except Exception:
                logger.exception("Scheduler: unexpected error; retrying.")
            self._stop.wait(self.tick if self.is_leader else min(self.tick * 2, renew_every))

    def run_due(self) -> int:
        """Send every run that is due now; returns how many were sent."""
        sent = 0
        now = self.clock()
        for entry in self.entries:
            key = f"{self.state.namespace}:schedule:{entry.name}"
            stored = self._coordination.get(key)
            if stored is None:
                # First sight: start from now; nothing is sent for the past.
                self._coordination.advance(key, None, now.isoformat())
                continue
            last = datetime.fromisoformat(stored)
            since = max(last, now - timedelta(seconds=self.missed_grace))
            due = entry.cron.last_at_or_before(now, since=since)
            if due is None:
                if last < since:  # everything missed is beyond the grace: skip it
                    self._coordination.advance(key, stored, since.isoformat())
                continue
            actor = self.state.actors.get(entry.job)
            if actor is None:
                # Left unclaimed: a scheduler of a process that declares the job sends it.
                logger.error("Schedule %r names the unknown job %r.", entry.name, entry.job)
                continue
            # Claim the run first: a second scheduler can't send it too.
            if not self._coordination.advance(key, stored, due.isoformat()):
                continue
            self._send(entry, actor, due)
            sent += 1
        return sent

    def _send(self, entry: Entry, actor: t.Any, when: datetime) -> None:
        options = {"scheduled_for": when.isoformat(), "schedule": entry.name}
        message: Message[t.Any] = Message(
            queue_name=entry.queue_name or actor.queue_name,
            actor_name=actor.actor_name,
            args=entry.args,
            kwargs=entry.kwargs,
            options=options,
            message_id=run_id(entry, when),
            message_timestamp=int(time.time() * 1000),
        )
        if message.queue_name not in self.state.broker.get_declared_queues():
            self.state.broker.declare_queue(message.queue_name)
        self.state.broker.enqueue(message)
        logger.info("Scheduled %r: sent %s for %s.", entry.name, entry.job, when.isoformat())
