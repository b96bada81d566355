"""Inspecting and replaying jobs that failed after their last retry (the dead-letter queue).

Dramatiq keeps dead messages per queue: on Redis in the sorted set
``{namespace}:{queue}.XQ`` (scored by when they died) with their bodies in the hash
``{namespace}:{queue}.XQ.msgs``, for ``dead_message_ttl`` (7 days by default); with the
stub broker, in memory. Each keeps the traceback of its last failure.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from datetime import UTC

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.common import q_name

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import JobsState

# Options describing a past attempt; a replayed job starts without them.
_ATTEMPT_OPTIONS = frozenset(
    {"retries", "traceback", "requeue_timestamp", "redis_message_id", "eta", "dead_letter_id"}
)


@dataclass(frozen=True)
class DeadLetter:
    """A job that failed for good."""

    #: Handle for :meth:`~erlen.ext.jobs.Jobs.requeue_dead_letter`.
    id: str
    #: The job's message id; stays the same when the job is requeued.
    message_id: str
    queue_name: str
    actor_name: str
    args: tuple[t.Any, ...]
    kwargs: dict[str, t.Any]
    #: How many times it was retried.
    retries: int
    #: The formatted traceback of a failed attempt, if one was kept.
    traceback: str | None
    #: When it was dead-lettered (Redis) or last failed (memory), if known.
    failed_at: datetime | None
    options: dict[str, t.Any]

    @property
    def error(self) -> str | None:
        """The last line of the traceback: the exception and its message."""
        if not self.traceback:
            return None
        lines = [line for line in self.traceback.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else None

    def to_dict(self) -> dict[str, t.Any]:
        """The letter as JSON-ready data (for admin pages and ``erlen jobs failed --json``)."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "queue": self.queue_name,
            "job": self.actor_name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "error": self.error,
            "traceback": self.traceback,
            "failed_at": None if self.failed_at is None else self.failed_at.isoformat(),
            "retries": self.retries,
        }

    @classmethod
    def from_message(
        cls, id: str, message: Message[t.Any], failed_at_ms: float | None
    ) -> DeadLetter:
        """Describe a dead message."""
        options = dict(message.options)
        if failed_at_ms is None and "requeue_timestamp" in options:
            failed_at_ms = float(options["requeue_timestamp"])
        return cls(
            id=id,
            message_id=message.message_id,
            queue_name=q_name(message.queue_name),
            actor_name=message.actor_name,
            args=tuple(message.args),
            kwargs=dict(message.kwargs),
            retries=int(options.get("retries", 0)),
            traceback=options.get("traceback"),
            failed_at=(
                None if failed_at_ms is None else datetime.fromtimestamp(failed_at_ms / 1000, UTC)
            ),
            options=options,
        )


def _stub_lists(broker: StubBroker, queue_name: str) -> list[list[t.Any]]:
    """The stub broker's dead-letter lists for a queue and its delay queue."""
    name = q_name(queue_name)
    lists = broker.dead_letters_by_queue
    return [lists[key] for key in (name, dq_name(name)) if key in lists]


def _stub_letters(broker: StubBroker, queue_name: str) -> list[t.Any]:
    return [proxy for proxies in _stub_lists(broker, queue_name) for proxy in proxies]


def _keys(broker: RedisBroker, queue_name: str) -> tuple[str, str]:
    base = f"{broker.namespace}:{q_name(queue_name)}.XQ"
    return base, f"{base}.msgs"


def list_dead_letters(state: JobsState, queue_name: str, *, limit: int = 100) -> list[DeadLetter]:
    """The dead letters of ``queue_name``, most recent first, at most ``limit``."""
    broker = state.broker
    if isinstance(broker, StubBroker):
        proxies = _stub_letters(broker, queue_name)
        letters = [
            DeadLetter.from_message(proxy.message_id, proxy._message, None) for proxy in proxies
        ]
        return list(reversed(letters))[:limit]
    assert isinstance(broker, RedisBroker)
    zset, bodies = _keys(broker, queue_name)
    entries = broker.client.zrevrange(zset, 0, limit - 1, withscores=True)
    if not entries:
        return []
    ids = [entry[0] for entry in entries]
    datas = broker.client.hmget(bodies, ids)
    letters = []
    for (redis_id, score), data in zip(entries, datas, strict=True):
        if data is None:  # expired between the two reads
            continue
        letters.append(DeadLetter.from_message(redis_id.decode(), Message.decode(data), score))
    return letters


def requeue_dead_letter(state: JobsState, letter: DeadLetter) -> bool:
    """Enqueue ``letter``'s job again; ``False`` if it is no longer dead-lettered."""
    broker = state.broker
    message: Message[t.Any]
    if isinstance(broker, StubBroker):
        for proxies in _stub_lists(broker, letter.queue_name):
            matches = [i for i, proxy in enumerate(proxies) if proxy.message_id == letter.id]
            if matches:
                message = proxies.pop(matches[0])._message
                break
        else:
            return False
    else:
        assert isinstance(broker, RedisBroker)
        zset, bodies = _keys(broker, letter.queue_name)
        # One transaction, so two concurrent requeues can't both claim the message.
        pipe = broker.client.pipeline()
        pipe.hget(bodies, letter.id)
        pipe.zrem(zset, letter.id)
        pipe.hdel(bodies, letter.id)
        data, removed, _ = pipe.execute()
        if not removed or data is None:
            return False
        message = Message.decode(data)
    fresh: Message[t.Any] = Message(
        queue_name=q_name(message.queue_name),
        actor_name=message.actor_name,
        args=message.args,
        kwargs=message.kwargs,
        options={k: v for k, v in message.options.items() if k not in _ATTEMPT_OPTIONS},
        message_id=message.message_id,
        message_timestamp=message.message_timestamp,
    )
    broker.enqueue(fresh)
    return True


def purge_dead_letters(state: JobsState, queue_name: str) -> int:
    """Delete every dead letter of ``queue_name``; returns how many there were."""
    broker = state.broker
    if isinstance(broker, StubBroker):
        count = 0
        for proxies in _stub_lists(broker, queue_name):
            count += len(proxies)
            # Cleared in place: the broker's consumers hold these very lists.
            proxies.clear()
        return count
    assert isinstance(broker, RedisBroker)
    zset, bodies = _keys(broker, queue_name)
    pipe = broker.client.pipeline()
    pipe.zcard(zset)
    pipe.delete(zset, bodies)
    count, _ = pipe.execute()
    return int(count)


def failed_queues(state: JobsState) -> list[str]:
    """The queues holding dead letters now (on Redis, found by their keys, so a process
    that declared no job still sees every queue)."""
    broker = state.broker
    if isinstance(broker, StubBroker):
        names = {q_name(name) for name, letters in broker.dead_letters_by_queue.items() if letters}
        return sorted(names)
    assert isinstance(broker, RedisBroker)
    prefix = f"{broker.namespace}:"
    found = set()
    for key in broker.client.scan_iter(match=f"{prefix}*.XQ", count=1000):
        name = key.decode()[len(prefix) : -len(".XQ")]
        found.add(q_name(name))
    return sorted(found)


def list_failed(
    state: JobsState, queue_name: str | None = None, *, limit: int = 100
) -> list[DeadLetter]:
    """Dead letters of one queue or of every queue, most recent first, at most ``limit``."""
    names = [queue_name] if queue_name is not None else failed_queues(state)
    letters = [letter for name in names for letter in list_dead_letters(state, name, limit=limit)]
    oldest = datetime.min.replace(tzinfo=UTC)
    letters.sort(key=lambda letter: letter.failed_at or oldest, reverse=True)
    return letters[:limit]


def find_failed(state: JobsState, id: str) -> DeadLetter | None:
    """The dead letter with this id (or message id), on any queue."""
    broker = state.broker
    names = failed_queues(state)
    if isinstance(broker, RedisBroker):
        # The letter id is the key in the bodies hash: one lookup per queue.
        for name in names:
            zset, bodies = _keys(broker, name)
            data = broker.client.hget(bodies, id)
            if data is not None:
                score = broker.client.zscore(zset, id)
                return DeadLetter.from_message(id, Message.decode(t.cast(bytes, data)), score)
    for name in names:
        for letter in list_dead_letters(state, name, limit=1_000_000):
            if id in (letter.id, letter.message_id):
                return letter
    return None


def retry_all(state: JobsState, queue_name: str | None = None) -> int:
    """Requeue every dead letter (of one queue); returns how many were requeued."""
    names = [queue_name] if queue_name is not None else failed_queues(state)
    count = 0
    for name in names:
        for letter in list_dead_letters(state, name, limit=1_000_000):
            count += requeue_dead_letter(state, letter)
    return count


def purge_failed(state: JobsState, queue_name: str | None = None) -> int:
    """Delete every dead letter (of one queue); returns how many there were."""
    names = [queue_name] if queue_name is not None else failed_queues(state)
    return sum(purge_dead_letters(state, name) for name in names)
