"""Progress reports, cancellation and the last known state of tracked jobs.

Whoever sends a job may name a realtime channel: ``job.send_with_options(args=...,
progress_channel="user.7")``. The job reports progress with
``jobs.report_progress(current, total, "message")``; each report

- stores the job's state (Redis key ``{namespace}:progress:{message_id}``, expiring after
  ``JOBS_PROGRESS_TTL`` seconds; in memory for ``memory://``), readable with
  :meth:`~erlen.ext.jobs.Jobs.job_state`, which a view can return as JSON;
- publishes a ``job.progress`` event with that state on the channel, through the app's
  realtime :class:`~erlen.ext.realtime.Publisher` (when the app has one), numbered by
  ``seq`` so clients can order them;
- checks whether someone asked to cancel the job (:meth:`~erlen.ext.jobs.Jobs.cancel`),
  and if so raises :class:`~erlen.ext.jobs.JobCancelled`, which stops the job there
  without a retry.

The :class:`ProgressMiddleware` writes the final state (``done`` with an optional
``result_url``, ``retrying``, ``failed`` or ``cancelled``) and skips a tracked job that was
cancelled before it started. Untracked jobs (no channel, no report) cost nothing extra.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import typing as t

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import SkipMessage

from .errors import JobCancelled

if t.TYPE_CHECKING:  # pragma: no cover
    from ..realtime import Publisher
    from .extension import JobsState

logger = logging.getLogger("erlen.ext.jobs")

P = t.ParamSpec("P")
R = t.TypeVar("R")

#: The realtime event every report is published as.
PROGRESS_EVENT = "job.progress"
#: Seconds a job's last state (and a cancel request) is kept.
DEFAULT_PROGRESS_TTL = 24 * 3600
#: Message option naming the realtime channel of a tracked job.
CHANNEL_OPTION = "progress_channel"

FINAL_STATES = frozenset({"done", "failed", "cancelled"})


def stop_on_cancel(fn: t.Callable[P, R]) -> t.Callable[P, R | None]:
    """Wrap a job's function so :class:`JobCancelled` ends it quietly: a cancelled job is
    acknowledged, never retried (Dramatiq's ``Retries`` would retry any exception)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return fn(*args, **kwargs)
        except JobCancelled as e:
            logger.info("%s", e)
            return None

    return run


class ProgressStore:
    """Where the last state of each tracked job and the cancel requests are kept."""

    def __init__(self, broker: dramatiq.Broker, namespace: str, ttl: int) -> None:
        self.ttl = ttl
        self._client = broker.client if isinstance(broker, RedisBroker) else None
        self._prefix = f"{namespace}:progress:"
        self._cancel_prefix = f"{namespace}:cancel:"
        # Memory backend: key -> (expires at, value).
        self._memory: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def save(self, message_id: str, state: dict[str, t.Any], *, check_cancel: bool) -> bool:
        """Store ``state``; returns whether cancelling was requested (when asked to check)."""
        data = json.dumps(state, separators=(",", ":"))
        key = self._prefix + message_id
        if self._client is not None:
            pipe = self._client.pipeline(transaction=False)
            pipe.set(key, data, ex=self.ttl)
            if check_cancel:
                pipe.exists(self._cancel_prefix + message_id)
            results = pipe.execute()
            return bool(check_cancel and results[1])
        with self._lock:
            self._memory[key] = (time.monotonic() + self.ttl, data)
            return check_cancel and self._get(self._cancel_prefix + message_id) is not None

    def load(self, message_id: str) -> dict[str, t.Any] | None:
        key = self._prefix + message_id
        if self._client is not None:
            data = self._client.get(key)
        else:
            with self._lock:
                data = self._get(key)
        return None if data is None else t.cast("dict[str, t.Any]", json.loads(data))

    def request_cancel(self, message_id: str) -> None:
        key = self._cancel_prefix + message_id
        if self._client is not None:
            self._client.set(key, "1", ex=self.ttl)
            return
        with self._lock:
            self._memory[key] = (time.monotonic() + self.ttl, "1")

    def cancel_requested(self, message_id: str) -> bool:
        key = self._cancel_prefix + message_id
        if self._client is not None:
            return bool(self._client.exists(key))
        with self._lock:
            return self._get(key) is not None

    def _get(self, key: str) -> str | None:
        entry = self._memory.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._memory[key]
            return None
        return entry[1]


class _Tracked:
    """What the worker thread knows about the job it is running."""

    def __init__(self, message: MessageProxy, channel: str | None) -> None:
        self.message_id = message.message_id
        self.channel = channel
        self.seq = 0
        self.state: dict[str, t.Any] = {
            "id": message.message_id,
            "job": message.actor_name,
            "state": "running",
            "current": None,
            "total": None,
            "message": "",
            "result_url": None,
            "error": None,
        }


class ProgressMiddleware(dramatiq.Middleware):
    """Tracks jobs sent with a ``progress_channel``, and jobs that report progress."""

    def __init__(self, state: JobsState, publisher: Publisher | None) -> None:
        self.jobs_state = state
        self.publisher = publisher
        self._local = threading.local()

    @property
    def actor_options(self) -> set[str]:
        return {CHANNEL_OPTION}

    @property
    def store(self) -> ProgressStore:
        return self.jobs_state.progress

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        channel = message.options.get(CHANNEL_OPTION)
        if channel is None:
            actor = broker.get_actor(message.actor_name)
            channel = actor.options.get(CHANNEL_OPTION)
        # Reports of untracked jobs still need the message; the rest waits for a report.
        self._local.message = message
        self._local.tracked = None
        if channel is None:
            return
        tracked = self._local.tracked = _Tracked(message, channel)
        if self.store.cancel_requested(message.message_id):
            tracked.state["state"] = "cancelled"
            self._emit(tracked, check_cancel=False)
            self._local.tracked = None
            raise SkipMessage(f"Job {message.message_id!r} was cancelled before it started.")
        self._emit(tracked, check_cancel=False)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: t.Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        tracked: _Tracked | None = getattr(self._local, "tracked", None)
        self._local.tracked = None
        self._local.message = None
        if tracked is None or tracked.state["state"] == "cancelled":
            return
        if exception is None:
            tracked.state["state"] = "done"
        elif isinstance(exception, JobCancelled):
            tracked.state["state"] = "cancelled"
        else:
            actor = broker.get_actor(message.actor_name)
            max_retries = message.options.get("max_retries", actor.options.get("max_retries"))
            retries = int(message.options.get("retries", 0))
            final = max_retries is not None and retries >= int(max_retries)
            tracked.state["state"] = "failed" if final else "retrying"
            tracked.state["error"] = f"{type(exception).__name__}: {exception}"[:500]
        self._emit(tracked, check_cancel=False)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._local.tracked = None
        self._local.message = None

    def report(
        self,
        current: float | None,
        total: float | None,
        message: str,
        result_url: str | None,
    ) -> None:
        """Record a progress point of the job running in this thread (see the module)."""
        tracked: _Tracked | None = getattr(self._local, "tracked", None)
        if tracked is None:
            proxy: MessageProxy | None = getattr(self._local, "message", None)
            if proxy is None:
                # Not on a worker (``job(...)`` called directly, a test): nothing to track.
                return
            tracked = self._local.tracked = _Tracked(proxy, None)
        state = tracked.state
        state.update(current=current, total=total, message=message[:200])
        if result_url is not None:
            state["result_url"] = result_url
        if self._emit(tracked, check_cancel=True):
            state["state"] = "cancelled"
            self._emit(tracked, check_cancel=False)
            raise JobCancelled(tracked.message_id)

    def _emit(self, tracked: _Tracked, *, check_cancel: bool) -> bool:
        tracked.seq += 1
        state = tracked.state
        state["seq"] = tracked.seq
        state["updated_at"] = time.time()
        cancelled = self.store.save(tracked.message_id, state, check_cancel=check_cancel)
        if tracked.channel is not None and "realtime" in self.jobs_state.app.extensions:
            if self.publisher is None:
                # Imported only now: apps without the realtime extension never need it.
                from ..realtime import Publisher

                # Unbound: it publishes through the app's realtime broker.
                self.publisher = Publisher()
            try:
                self.publisher.publish(tracked.channel, PROGRESS_EVENT, dict(state), id=tracked.seq)
            except Exception as e:
                # Events are at-most-once; the stored state is what clients catch up from.
                logger.warning(
                    "Progress event of job %s not published (%s).", tracked.message_id, e
                )
        return cancelled
