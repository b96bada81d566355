"""The :class:`Jobs` extension and the :class:`Job` objects its decorator returns."""

from __future__ import annotations

import inspect
import typing as t
from datetime import timedelta

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker as DramatiqRedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import get_encoder
from dramatiq.middleware import CurrentMessage

from ...globals import current_app_context
from .broker import RedisBroker
from .errors import JobArgumentError
from .middleware import AppContext
from .progress import DEFAULT_PROGRESS_TTL
from .progress import ProgressMiddleware
from .progress import ProgressStore
from .progress import stop_on_cancel
from .scheduler import DEFAULT_LOCK_TTL
from .scheduler import DEFAULT_MISSED_GRACE
from .scheduler import Entry
from .scheduler import parse_schedule

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from ..realtime import Publisher
    from .deadletters import DeadLetter
    from .worker import WorkerHandle

P = t.ParamSpec("P")
R = t.TypeVar("R")

#: Retries before a failing job is dead-lettered (Dramatiq's own default is 20).
DEFAULT_MAX_RETRIES = 3
#: Backoff before the first retry, in milliseconds; it doubles (with jitter) each time.
DEFAULT_MIN_BACKOFF = 1_000
#: Longest backoff between retries, in milliseconds.
DEFAULT_MAX_BACKOFF = 5 * 60_000
#: A worker silent this long (ms) is presumed dead and its unfinished jobs are requeued.
DEFAULT_HEARTBEAT_TIMEOUT = 5_000
#: Broker commands, per million, that also run the maintenance pass that requeues them.
DEFAULT_MAINTENANCE_CHANCE = 100_000
#: Every worker runs that pass on each queue it serves at least this often (ms), which
#: bounds recovery at about heartbeat timeout + this interval + one poll (~1 s).
DEFAULT_MAINTENANCE_INTERVAL = 1_000
#: Seconds a Redis command (or connecting) may take before it fails; redis-py's own
#: default is to wait forever, which would hang a request on a Redis that stopped answering.
DEFAULT_REDIS_TIMEOUT = 5.0


class WorkerService(t.Protocol):
    """Something that runs beside a worker (see :meth:`JobsState.add_worker_service`)."""

    def stop(self) -> None:
        """Stop; called when the worker stops."""


def make_broker(
    url: str,
    *,
    namespace: str,
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT,
    maintenance_chance: int = DEFAULT_MAINTENANCE_CHANCE,
    dead_message_ttl: int | None = None,
    timeout: float | None = DEFAULT_REDIS_TIMEOUT,
) -> dramatiq.Broker:
    """Build the Dramatiq broker a URL names: Redis for ``redis://``, a stub for ``memory://``.

    Dramatiq's Redis defaults recover a killed worker's jobs only after a 60 s heartbeat
    timeout *and* a random maintenance pass (0.1 % of commands), which can take minutes;
    the defaults here bring it to seconds. Maintenance scans the namespace's keys, so give
    the queue its own Redis database. ``timeout`` bounds each Redis command and connection
    attempt, in seconds (``None``: wait forever, redis-py's default).
    """
    scheme = url.split(":", 1)[0].lower()
    if scheme in {"redis", "rediss", "unix"}:
        options: dict[str, t.Any] = {}
        if dead_message_ttl is not None:
            options["dead_message_ttl"] = dead_message_ttl
        # Dramatiq ignores connection parameters given beside a URL: pass a client.
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return RedisBroker(
            client=client,
            namespace=namespace,
            heartbeat_timeout=heartbeat_timeout,
            maintenance_chance=maintenance_chance,
            **options,
        )
    if scheme == "memory":
        # Job errors surface in the worker's log and the dead-letter list, not in join().
        return StubBroker(fail_fast_default=False)
    # Never echo the URL: it may hold a password.
    raise ValueError(f"Unsupported BROKER_URL scheme {scheme!r}: use redis:// or memory://.")


class JobsState:
    """What :meth:`Jobs.init_app` stores in ``app.extensions["jobs"]``."""

    def __init__(
        self,
        jobs: Jobs,
        app: Erlen,
        broker: dramatiq.Broker,
        url: str,
        *,
        namespace: str = "erlen-jobs",
        progress_ttl: int = DEFAULT_PROGRESS_TTL,
    ) -> None:
        self.jobs = jobs
        self.app = app
        #: The Dramatiq broker jobs are sent through.
        self.broker = broker
        #: ``"redis"`` or ``"memory"``.
        self.backend = "memory" if isinstance(broker, StubBroker) else "redis"
        #: The Dramatiq actors, by name, bound to :attr:`broker`.
        self.actors: dict[str, dramatiq.Actor[t.Any, t.Any]] = {}
        #: The in-process worker started by :meth:`Jobs.run_worker_thread`, if any.
        self.worker: WorkerHandle | None = None
        #: ms between the recovery passes each worker runs (Redis only).
        self.maintenance_interval = DEFAULT_MAINTENANCE_INTERVAL
        #: Whether ``process_boot`` was emitted (once per broker, when a worker first starts).
        self.process_booted = False
        #: The key prefix of everything the extension keeps in Redis.
        self.namespace = namespace
        #: Last states of tracked jobs and cancel requests.
        self.progress = ProgressStore(broker, namespace, progress_ttl)
        self.progress_middleware: ProgressMiddleware | None = None
        #: ``JOBS_SCHEDULE``, parsed: what the workers' scheduler sends, and when.
        self.schedule: list[Entry] = []
        #: ms before a dead scheduler's lock expires (``JOBS_SCHEDULER_LOCK_TTL``).
        self.scheduler_lock_ttl = DEFAULT_LOCK_TTL
        #: Seconds a missed run may be late and still be sent once.
        self.schedule_missed_grace: float = DEFAULT_MISSED_GRACE
        #: What :meth:`add_worker_service` registered, started with every worker.
        self.worker_services: list[t.Callable[[], WorkerService]] = []
        self._url = url

    def add_worker_service(self, start: t.Callable[[], WorkerService]) -> None:
        """Run ``start()`` whenever a worker starts on this app (``python -m worker`` or
        :meth:`Jobs.run_worker_thread`), and ``stop()`` what it returned before the worker
        stops. Other extensions use it for their background threads (the outbox relay).

        .. versionadded:: 0.2
        """
        self.worker_services.append(start)

    def close(self) -> None:
        """Stop the in-process worker, if any, and release the broker's connections."""
        if self.worker is not None:
            self.worker.stop()
        self.broker.close()
        if isinstance(self.broker, DramatiqRedisBroker):
            self.broker.client.close()

    def bind(self, job: Job[t.Any, t.Any]) -> None:
        """Declare ``job`` as an actor on this state's broker."""
        unknown = set(job.options) - self.broker.actor_options
        if unknown:
            raise ValueError(
                f"Job {job.actor_name!r} uses unknown option(s) {', '.join(sorted(unknown))}."
            )
        self.actors[job.actor_name] = dramatiq.Actor(
            stop_on_cancel(job.fn),
            broker=self.broker,
            actor_name=job.actor_name,
            queue_name=job.queue_name,
            priority=job.priority,
            options=dict(job.options),
        )


class Job(t.Generic[P, R]):
    """A background job: a function plus how to run it, usable before the app exists.

    ``@jobs.actor`` returns one. Calling it runs the function right here; :meth:`send`
    enqueues it for a worker. The Dramatiq actor behind it is created for each app's
    broker by :meth:`Jobs.init_app`, so modules declaring jobs can be imported by web (to
    enqueue) and by the worker (to run) in any order.
    """

    def __init__(
        self,
        jobs: Jobs,
        fn: t.Callable[P, R],
        *,
        actor_name: str,
        queue_name: str,
        priority: int,
        options: dict[str, t.Any],
    ) -> None:
        self.jobs = jobs
        self.fn = fn
        self.actor_name = actor_name
        self.queue_name = queue_name
        self.priority = priority
        self.options = options
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self._signature: inspect.Signature | None = None

    def __repr__(self) -> str:
        return f"<Job {self.actor_name!r} queue={self.queue_name!r}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the job's function synchronously, in this thread."""
        return self.fn(*args, **kwargs)

    def actor(self, app: Erlen | None = None) -> dramatiq.Actor[P, R]:
        """The Dramatiq actor for the current app (or ``app``)."""
        state = self.jobs.state(app)
        return state.actors[self.actor_name]

    def check_arguments(self, args: t.Sequence[t.Any], kwargs: t.Mapping[str, t.Any]) -> None:
        """Refuse arguments the function can't take or the message encoder can't
        serialise, naming the argument, before anything is enqueued.

        :raise JobArgumentError: (a ``TypeError``) with the argument's name and value.
        """
        encoder = get_encoder()
        try:
            encoder.encode({"args": list(args), "kwargs": dict(kwargs)})
            serialisable = True
        except (TypeError, ValueError):
            serialisable = False
        if self._signature is None:
            self._signature = inspect.signature(self.fn)
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise JobArgumentError(
                f"Job {self.actor_name!r} can't be sent with these arguments: {e}.",
                job=self.actor_name,
                argument=None,
                value=(tuple(args), dict(kwargs)),
            ) from None
        if serialisable:
            return
        for name, value in bound.arguments.items():
            try:
                encoder.encode({"args": [value]})
            except (TypeError, ValueError) as e:
                raise JobArgumentError(
                    f"Job {self.actor_name!r} can't be sent: its argument {name!r}"
                    f" ({type(value).__name__}) can't be serialised to JSON ({e}). Pass ids"
                    " and plain values (str, int, float, bool, None, lists, dicts).",
                    job=self.actor_name,
                    argument=name,
                    value=value,
                ) from None

    def send(self, *args: P.args, **kwargs: P.kwargs) -> dramatiq.Message[R]:
        """Enqueue the job; a worker runs it later. Returns the enqueued message.

        :raise JobArgumentError: An argument doesn't fit the function or can't be
            serialised; nothing was enqueued.
        """
        actor = self.actor()
        self.check_arguments(args, kwargs)
        return actor.send(*args, **kwargs)

    def send_with_options(
        self,
        *,
        args: tuple[t.Any, ...] = (),
        kwargs: dict[str, t.Any] | None = None,
        delay: timedelta | int | None = None,
        app: Erlen | None = None,
        **options: t.Any,
    ) -> dramatiq.Message[R]:
        """Enqueue the job with Dramatiq options (``delay`` in ms or a timedelta, ...)."""
        actor = self.actor(app)
        self.check_arguments(args, kwargs or {})
        return actor.send_with_options(args=args, kwargs=kwargs, delay=delay, **options)

    def message(self, *args: P.args, **kwargs: P.kwargs) -> dramatiq.Message[R]:
        """Build a message without sending it (for pipelines and groups)."""
        actor = self.actor()
        self.check_arguments(args, kwargs)
        return actor.message(*args, **kwargs)


class Jobs:
    """Background jobs on Dramatiq, configured from the app.

    ``BROKER_URL`` chooses the broker: ``redis://...`` for a Redis queue served by worker
    processes (``python -m worker``), or ``memory://`` for an in-process queue served by
    :meth:`run_worker_thread` (embedded mode, tests). Keys live under
    ``JOBS_NAMESPACE``, by default ``{KEY_PREFIX}-jobs``. ``JOBS_HEARTBEAT_TIMEOUT`` (ms),
    ``JOBS_MAINTENANCE_CHANCE`` (per million commands) and ``JOBS_DEAD_MESSAGE_TTL`` (ms)
    tune recovery after a worker dies.

    Jobs run at least once: they are acknowledged only after they finish, retried with
    backoff when they raise, dead-lettered after the last retry, and run again if their
    worker is killed mid-job. Write them to be idempotent.
    """

    def __init__(self, app: Erlen | None = None, *, publisher: Publisher | None = None) -> None:
        #: Where progress events go (see :meth:`report_progress`); by default, through
        #: whichever ``Publisher`` set up the job's app.
        self.publisher = publisher
        self._jobs: dict[str, Job[t.Any, t.Any]] = {}
        self._last_state: JobsState | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Erlen, *, command: str | None = "jobs") -> None:
        """Build the app's broker, bind every declared job to it, make it Dramatiq's
        global broker and add the ``erlen jobs`` commands (``command=None``: don't)."""
        config = app.config
        url = config.get("BROKER_URL") or "memory://"
        prefix = config.get("KEY_PREFIX") or "erlen"
        namespace = config.get("JOBS_NAMESPACE") or f"{prefix}-jobs"
        broker = make_broker(
            url,
            namespace=namespace,
            heartbeat_timeout=int(config.get("JOBS_HEARTBEAT_TIMEOUT", DEFAULT_HEARTBEAT_TIMEOUT)),
            maintenance_chance=int(
                config.get("JOBS_MAINTENANCE_CHANCE", DEFAULT_MAINTENANCE_CHANCE)
            ),
            dead_message_ttl=config.get("JOBS_DEAD_MESSAGE_TTL"),
            timeout=config.get("JOBS_REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT),
        )
        broker.add_middleware(CurrentMessage())
        broker.add_middleware(AppContext(app))
        state = JobsState(
            self,
            app,
            broker,
            url,
            namespace=namespace,
            progress_ttl=int(config.get("JOBS_PROGRESS_TTL", DEFAULT_PROGRESS_TTL)),
        )
        state.schedule = parse_schedule(config.get("JOBS_SCHEDULE"))
        state.scheduler_lock_ttl = int(config.get("JOBS_SCHEDULER_LOCK_TTL", DEFAULT_LOCK_TTL))
        state.schedule_missed_grace = float(
            config.get("JOBS_SCHEDULE_MISSED_GRACE", DEFAULT_MISSED_GRACE)
        )
        state.progress_middleware = ProgressMiddleware(state, self.publisher)
        broker.add_middleware(state.progress_middleware)
        state.maintenance_interval = int(
            config.get("JOBS_MAINTENANCE_INTERVAL", DEFAULT_MAINTENANCE_INTERVAL)
        )
        for job in self._jobs.values():
            state.bind(job)
        app.extensions["jobs"] = state
        if command:
            from .cli import jobs_group

            app.cli.add_command(jobs_group, name=command)
        dramatiq.set_broker(broker)
        self._last_state = state

    @t.overload
    def actor(self, fn: t.Callable[P, R]) -> Job[P, R]: ...

    @t.overload
    def actor(
        self,
        *,
        actor_name: str | None = None,
        queue_name: str = "default",
        priority: int = 0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        min_backoff: int | timedelta = DEFAULT_MIN_BACKOFF,
        max_backoff: int | timedelta = DEFAULT_MAX_BACKOFF,
        time_limit: int | timedelta | None = None,
        **options: t.Any,
    ) -> t.Callable[[t.Callable[P, R]], Job[P, R]]: ...

    def actor(
        self,
        fn: t.Callable[P, R] | None = None,
        *,
        actor_name: str | None = None,
        queue_name: str = "default",
        priority: int = 0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        min_backoff: int | timedelta = DEFAULT_MIN_BACKOFF,
        max_backoff: int | timedelta = DEFAULT_MAX_BACKOFF,
        time_limit: int | timedelta | None = None,
        **options: t.Any,
    ) -> Job[P, R] | t.Callable[[t.Callable[P, R]], Job[P, R]]:
        """Declare a job; usable with or without arguments, before or after ``init_app``.

        :param actor_name: The job's name in messages (default: the function's name). It
            must stay stable while messages naming it are queued.
        :param queue_name: The queue it is sent to; workers can serve a subset of queues.
        :param priority: Lower runs first when a worker holds several messages.
        :param max_retries: Retries after a failure before the job is dead-lettered.
        :param min_backoff: Delay before the first retry (ms or timedelta), doubling.
        :param max_backoff: Upper bound of the delay between retries.
        :param time_limit: Longest run before the job is interrupted (Dramatiq's default,
            10 minutes, when ``None``).
        :param options: Other Dramatiq actor options (``throws``, ``retry_when``, ...).
        """
        options["max_retries"] = max_retries
        options["min_backoff"] = _ms(min_backoff)
        options["max_backoff"] = _ms(max_backoff)
        if time_limit is not None:
            options["time_limit"] = _ms(time_limit)

        def decorator(fn: t.Callable[P, R]) -> Job[P, R]:
            if inspect.iscoroutinefunction(fn):
                raise TypeError(f"Job {fn.__name__!r} must be a plain function, not async.")
            name = actor_name or fn.__name__
            if name in self._jobs:
                other = self._jobs[name].fn
                raise ValueError(
                    f"A job named {name!r} is already declared"
                    f" ({other.__module__}.{other.__qualname__})."
                )
            job = Job(
                self,
                fn,
                actor_name=name,
                queue_name=queue_name,
                priority=priority,
                options=dict(options),
            )
            self._jobs[name] = job
            if self._last_state is not None:
                self._last_state.bind(job)
            return job

        if fn is not None:
            return decorator(fn)
        return decorator

    @property
    def jobs(self) -> dict[str, Job[t.Any, t.Any]]:
        """The declared jobs, by name."""
        return dict(self._jobs)

    def state(self, app: Erlen | None = None) -> JobsState:
        """The jobs state of ``app``, else of the current app, else of the last app set up.

        :raise RuntimeError: That app (or, outside an app context, any app) was not set up
            with this extension.
        """
        if app is None:
            ctx = current_app_context()
            if ctx is not None:
                app = ctx.app
        if app is not None:
            state = app.extensions.get("jobs")
            if isinstance(state, JobsState) and state.jobs is self:
                return state
            # Never fall back to another app's broker: the job would go to the wrong queue.
            raise RuntimeError(
                f"The app {app.name!r} has no jobs: call 'jobs.init_app(app)' first."
            )
        if self._last_state is None:
            raise RuntimeError("Jobs can't be sent before 'jobs.init_app(app)' is called.")
        return self._last_state

    def broker(self, app: Erlen | None = None) -> dramatiq.Broker:
        """The Dramatiq broker of the app (see :meth:`state`)."""
        return self.state(app).broker

    def run_worker_thread(
        self,
        worker_threads: int = 2,
        *,
        app: Erlen | None = None,
        queues: t.Iterable[str] | None = None,
        scheduler: bool = True,
    ) -> WorkerHandle:
        """Start a Dramatiq worker inside this process (embedded mode); stop it with
        :meth:`WorkerHandle.stop`.

        With ``BROKER_URL=memory://`` this is the only way jobs run. Only one worker may
        run per process. ``scheduler=False``: don't run the ``JOBS_SCHEDULE`` scheduler.
        """
        from .worker import start_worker

        state = self.state(app)
        if state.worker is not None and state.worker.running:
            raise RuntimeError("A worker is already running in this process.")
        state.worker = start_worker(
            state, worker_threads=worker_threads, queues=queues, scheduler=scheduler
        )
        return state.worker

    def join(self, *, app: Erlen | None = None, timeout: float = 10.0) -> None:
        """Wait until every queue is empty and the in-process worker is idle (for tests).

        :raise dramatiq.errors.QueueJoinTimeout: The queues did not drain in ``timeout``.
        """
        state = self.state(app)
        broker = state.broker
        for queue_name in sorted(broker.get_declared_queues()):
            if isinstance(broker, StubBroker):
                broker.join(queue_name, timeout=int(timeout * 1000), fail_fast=False)
            elif isinstance(broker, DramatiqRedisBroker):
                broker.join(queue_name, timeout=int(timeout * 1000))
        if state.worker is not None and state.worker.running:
            state.worker.worker.join()

    def worker_main(
        self,
        app: Erlen | t.Callable[[], Erlen],
        argv: t.Sequence[str] | None = None,
    ) -> int:
        """Run a worker process (``python -m worker``); returns the exit status.

        ``app`` may be an app factory: ``--check`` doesn't need to build the app. See
        :func:`erlen.ext.jobs.worker.worker_main` for the options.
        """
        from .worker import worker_main

        return worker_main(self, app, argv)

    def dead_letters(
        self, queue_name: str = "default", *, app: Erlen | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """The jobs that failed for good on ``queue_name``, most recent first."""
        from .deadletters import list_dead_letters

        return list_dead_letters(self.state(app), queue_name, limit=limit)

    def requeue_dead_letter(self, letter: DeadLetter, *, app: Erlen | None = None) -> bool:
        """Send a dead-lettered job again with a fresh retry budget; ``False`` if it's gone."""
        from .deadletters import requeue_dead_letter

        return requeue_dead_letter(self.state(app), letter)

    def purge_dead_letters(self, queue_name: str = "default", *, app: Erlen | None = None) -> int:
        """Delete the dead letters of ``queue_name``; returns how many there were."""
        from .deadletters import purge_dead_letters

        return purge_dead_letters(self.state(app), queue_name)

    def report_progress(
        self,
        current: float | None,
        total: float | None = None,
        message: str = "",
        *,
        result_url: str | None = None,
    ) -> None:
        """Report the running job's progress; call it from inside a job.

        Stores the job's state, publishes a ``job.progress`` event on the channel the
        sender named (``progress_channel=``), and stops the job here (raising
        :class:`~erlen.ext.jobs.JobCancelled`, which is not retried) if someone called
        :meth:`cancel`. ``result_url`` is kept in the final ``done`` state. Outside a job
        running on a worker (the function called directly), it does nothing.
        """
        try:
            middleware = self.state().progress_middleware
        except RuntimeError:  # no app set up: certainly not on a worker
            return
        if middleware is not None:
            middleware.report(current, total, message, result_url)

    def job_state(self, message_id: str, *, app: Erlen | None = None) -> dict[str, t.Any] | None:
        """The last state of a tracked job, JSON-ready, or ``None`` (unknown or expired).

        Keys: ``id``, ``job``, ``state`` (``running``, ``retrying``, ``done``, ``failed``,
        ``cancelled``), ``current``, ``total``, ``message``, ``result_url``, ``error``,
        ``seq``, ``updated_at`` (Unix time), and ``cancel_requested``.
        """
        store = self.state(app).progress
        state = store.load(message_id)
        if state is not None:
            state["cancel_requested"] = store.cancel_requested(message_id)
        return state

    def cancel(self, message_id: str, *, app: Erlen | None = None) -> None:
        """Ask a job to stop: it raises :class:`~erlen.ext.jobs.JobCancelled` at its next
        progress report; a tracked job that has not started yet is skipped. The request
        is kept for ``JOBS_PROGRESS_TTL`` seconds."""
        self.state(app).progress.request_cancel(message_id)

    def failed(
        self, queue_name: str | None = None, *, app: Erlen | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Jobs that failed for good, on one queue or all, most recent first.

        ``letter.to_dict()`` gives what ``erlen jobs failed --json`` prints.
        """
        from .deadletters import list_failed

        return list_failed(self.state(app), queue_name, limit=limit)

    def retry(self, id: str, *, app: Erlen | None = None) -> bool:
        """Send the failed job ``id`` (its letter id or message id) again with a fresh
        retry budget; ``False`` if there is no such failed job (any more).
        """
        from .deadletters import find_failed
        from .deadletters import requeue_dead_letter

        state = self.state(app)
        letter = find_failed(state, id)
        return letter is not None and requeue_dead_letter(state, letter)

    def retry_all(self, queue_name: str | None = None, *, app: Erlen | None = None) -> int:
        """Send every failed job (of one queue) again; returns how many."""
        from .deadletters import retry_all

        return retry_all(self.state(app), queue_name)

    def purge_failed(self, queue_name: str | None = None, *, app: Erlen | None = None) -> int:
        """Delete every failed job (of one queue); returns how many there were."""
        from .deadletters import purge_failed

        return purge_failed(self.state(app), queue_name)


def _ms(value: int | timedelta) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds() * 1000)
    return int(value)
