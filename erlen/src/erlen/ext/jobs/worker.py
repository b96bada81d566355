"""Running workers: in a thread of the web process (embedded mode), or as a process.

Both start the same way (:func:`start_worker`): the broker's middleware first gets the
``process_boot`` signal Dramatiq's own CLI sends (``TimeLimit`` starts its watchdog on
it, so without it time limits are silently ignored), then ``dramatiq.Worker`` sends
``worker_boot`` and, when stopped, ``worker_shutdown``. On Redis, a recovery thread runs
the maintenance pass on every served queue each ``JOBS_MAINTENANCE_INTERVAL`` ms.

A worker process (``python -m worker``) writes its own heartbeat file every few seconds
while its threads are alive and its broker answers; ``python -m worker --check`` exits 0
only if the heartbeats of the running workers are fresh, which is what a container health
check runs. On SIGTERM the worker stops taking jobs, lets running ones finish (up to
``--shutdown-timeout``), returns prefetched ones to the queue, and exits 0.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import types
import typing as t

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from .broker import RedisBroker as RecoveringRedisBroker
from .scheduler import Scheduler

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from .extension import Jobs
    from .extension import JobsState
    from .extension import WorkerService

logger = logging.getLogger("erlen.ext.jobs")

#: Where the heartbeat goes unless ``--heartbeat-file`` or ``WORKER_HEARTBEAT_FILE`` say.
#: ``{pid}`` makes it one file per worker process, so workers sharing a host (and its
#: temporary directory) never overwrite or delete each other's heartbeat.
DEFAULT_HEARTBEAT_FILE = os.path.join(tempfile.gettempdir(), "erlen-worker.{pid}.heartbeat")
PID_FIELD = "{pid}"


class Recovery:
    """Runs the broker's recovery pass on ``queues`` every ``interval`` seconds."""

    def __init__(
        self,
        broker: RecoveringRedisBroker,
        queues: t.Callable[[], t.Iterable[str]],
        interval: float,
    ) -> None:
        self.broker = broker
        self.queues = queues
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erlen-jobs-recovery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.broker.recover(self.queues())
            except redis.RedisError as e:
                # The consumers report an unreachable broker too; keep trying.
                logger.warning("Recovery pass failed (%s).", type(e).__name__)


class WorkerHandle:
    """A running Dramatiq worker; :meth:`stop` it when done."""

    def __init__(
        self,
        worker: dramatiq.Worker,
        recovery: Recovery | None = None,
        scheduler: Scheduler | None = None,
        services: t.Sequence[WorkerService] = (),
    ) -> None:
        self.worker = worker
        self.recovery = recovery
        #: The ``JOBS_SCHEDULE`` scheduler of this worker, if one runs.
        self.scheduler = scheduler
        #: What :meth:`JobsState.add_worker_service` started beside this worker.
        self.services = list(services)
        self.running = True

    def join(self) -> None:
        """Wait until the worker has no job queued or running (for tests)."""
        self.worker.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs, wait up to ``timeout`` s for running ones, requeue the rest."""
        if not self.running:
            return
        self.running = False
        for service in reversed(self.services):
            service.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.recovery is not None:
            self.recovery.stop()
        self.worker.stop(timeout=int(timeout * 1000))

    def problem(self) -> str | None:
        """Why the worker is unhealthy, or ``None``: a dead thread or unreachable Redis."""
        threads: list[threading.Thread] = [*self.worker.workers, *self.worker.consumers.values()]
        dead = [thread for thread in threads if not thread.is_alive()]
        if dead:
            return f"{len(dead)} worker thread(s) died."
        broker = self.worker.broker
        if isinstance(broker, RedisBroker):
            try:
                broker.client.ping()
            except redis.RedisError as e:
                return f"the job broker is unreachable ({type(e).__name__})."
        return None


def start_worker(
    state: JobsState,
    *,
    worker_threads: int = 2,
    queues: t.Iterable[str] | None = None,
    worker_timeout: int = 100,
    scheduler: bool = True,
) -> WorkerHandle:
    """Start a Dramatiq worker on ``state``'s broker in background threads.

    The first worker started on a broker sends it ``process_boot``, as Dramatiq's CLI does
    in each worker process: ``TimeLimit`` (and any middleware that starts something per
    process) needs it. ``dramatiq.Worker`` itself sends ``worker_boot`` and
    ``worker_shutdown``. Dramatiq 2.2 defines no process-stop signal.
    """
    if not state.process_booted:
        state.process_booted = True
        state.broker.emit_after("process_boot")
    worker = dramatiq.Worker(
        state.broker,
        worker_threads=worker_threads,
        queues=set(queues) if queues else None,
        # How often idle threads look up; short, so stop() returns quickly.
        worker_timeout=worker_timeout,
    )
    worker.start()
    recovery = None
    broker = state.broker
    if isinstance(broker, RecoveringRedisBroker) and state.maintenance_interval > 0:
        served = set(queues) if queues else None

        def served_queues() -> t.Iterable[str]:
            # Queues declared later are served (and recovered) too.
            names = served if served is not None else broker.get_declared_queues()
            return sorted(name for name in names if not name.endswith(".DQ"))

        recovery = Recovery(broker, served_queues, state.maintenance_interval / 1000)
        recovery.start()
    periodic = None
    if scheduler and state.schedule:
        periodic = Scheduler(
            state,
            state.schedule,
            lock_ttl=state.scheduler_lock_ttl,
            missed_grace=state.schedule_missed_grace,
        )
        periodic.start()
    services = [start() for start in state.worker_services]
    return WorkerHandle(worker, recovery, periodic, services)


class Heartbeat:
    """Writes the time and this process's id to a file every ``interval`` s while ``check``
    finds no problem. ``{pid}`` in ``path`` is replaced by the process id."""

    def __init__(self, path: str, interval: float, check: t.Callable[[], str | None]) -> None:
        self.pid = os.getpid()
        self.path = path.replace(PID_FIELD, str(self.pid))
        self.interval = interval
        self.check = check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erlen-heartbeat", daemon=True)

    def start(self) -> None:
        """Beat now, then every ``interval`` seconds."""
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and remove the file if it is this worker's, so a stopped worker is
        never seen as healthy and a live one sharing the path keeps its heartbeat."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        beat = _read_beat(self.path)
        if beat is not None and beat[1] == self.pid:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._beat()

    def _beat(self) -> None:
        problem = self.check()
        if problem is not None:
            logger.warning("Not writing the heartbeat: %s", problem)
            return
        # Written aside and renamed, so --check never reads a half-written file.
        tmp = f"{self.path}.{self.pid}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{time.time():.3f} {self.pid}\n")
        os.replace(tmp, self.path)


def _read_beat(path: str) -> tuple[float, int | None] | None:
    """The time and process id in a heartbeat file; ``None`` if there is no file.

    :raise OSError, ValueError: The file can't be read or parsed.
    """
    try:
        with open(path) as f:
            fields = f.read().split()
    except FileNotFoundError:
        return None
    return float(fields[0]), (int(fields[1]) if len(fields) > 1 else None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def check_heartbeat(path: str, max_age: float) -> tuple[bool, str]:
    """Whether the heartbeat at ``path`` is at most ``max_age`` seconds old, and why.

    When ``path`` holds ``{pid}`` (the default), every matching file is a worker's: the
    check passes when at least one running worker has a fresh heartbeat and no running
    worker has a stale one. Files of processes that are gone are ignored, so a worker that
    stopped or was killed never fails a live worker's check.
    """
    if PID_FIELD not in path:
        return _check_one(path, max_age)
    prefix, suffix = path.split(PID_FIELD, 1)
    fresh: list[str] = []
    for candidate in sorted(glob.glob(glob.escape(prefix) + "*" + glob.escape(suffix))):
        pid_text = candidate[len(prefix) : len(candidate) - len(suffix)]
        if not pid_text.isdigit() or not _alive(int(pid_text)):
            continue
        healthy, message = _check_one(candidate, max_age)
        if not healthy:
            return False, f"{message} (worker {pid_text})"
        fresh.append(message)
    if not fresh:
        return False, f"unhealthy: no running worker's heartbeat matches {path}."
    return True, fresh[0] if len(
        fresh
    ) == 1 else f"healthy: {len(fresh)} workers' heartbeats fresh."


def _check_one(path: str, max_age: float) -> tuple[bool, str]:
    try:
        beat = _read_beat(path)
    except (OSError, ValueError, IndexError) as e:
        return False, f"unhealthy: can't read the heartbeat at {path} ({e})."
    if beat is None:
        return False, f"unhealthy: no heartbeat file at {path}."
    age = time.time() - beat[0]
    if age > max_age:
        return False, f"unhealthy: the last heartbeat is {age:.1f} s old (limit {max_age:g} s)."
    return True, f"healthy: heartbeat {max(age, 0.0):.1f} s ago."


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(prog="worker", description="Run the background job worker.")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(env.get("WORKER_THREADS", "4")),
        help="worker threads (default: $WORKER_THREADS or 4)",
    )
    parser.add_argument(
        "--queues",
        default="",
        help="comma-separated queues to serve (default: every declared queue)",
    )
    parser.add_argument(
        "--heartbeat-file",
        default=env.get("WORKER_HEARTBEAT_FILE") or DEFAULT_HEARTBEAT_FILE,
        help="heartbeat path; {pid} becomes the process id"
        " (default: $WORKER_HEARTBEAT_FILE or %(default)s)",
    )
    parser.add_argument(
        "--heartbeat-interval", type=float, default=5.0, help="seconds between heartbeats"
    )
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        default=env.get("WORKER_SCHEDULER", "1") == "0",
        help="don't take part in running JOBS_SCHEDULE (default: $WORKER_SCHEDULER=0 sets it)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if a running worker's heartbeat is fresh, 1 otherwise (health check)",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=30.0,
        help="with --check: oldest acceptable heartbeat, in seconds (default: 30)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        help="seconds running jobs get to finish after SIGTERM (default: 30)",
    )
    return parser


def worker_main(
    jobs: Jobs,
    app: Erlen | t.Callable[[], Erlen],
    argv: t.Sequence[str] | None = None,
) -> int:
    """The ``python -m worker`` entry point; returns the process's exit status.

    :param jobs: The extension the jobs were declared on.
    :param app: The app, or a factory called only when a worker actually starts.
    :param argv: Command-line arguments (default: ``sys.argv[1:]``).
    """
    args = _parser().parse_args(argv)
    if args.check:
        healthy, message = check_heartbeat(args.heartbeat_file, args.max_age)
        print(message, file=sys.stdout if healthy else sys.stderr)
        return 0 if healthy else 1

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    from ...app import Erlen

    state = jobs.state(app if isinstance(app, Erlen) else app())
    if isinstance(state.broker, StubBroker):
        logger.warning(
            "BROKER_URL is memory://: this worker only sees jobs sent from its own process."
        )
    queues = [name.strip() for name in args.queues.split(",") if name.strip()]

    stopping = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        logger.info("Received %s; finishing running jobs.", signal.Signals(signum).name)
        stopping.set()

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    handle = start_worker(
        state,
        worker_threads=args.threads,
        queues=queues,
        worker_timeout=1000,
        scheduler=not args.no_scheduler,
    )
    heartbeat = Heartbeat(args.heartbeat_file, args.heartbeat_interval, handle.problem)
    try:
        heartbeat.start()
        logger.info(
            "Worker %d started: %d thread(s), queues: %s.",
            os.getpid(),
            args.threads,
            ", ".join(queues) or "all",
        )
        while not stopping.wait(1.0):
            pass
    finally:
        heartbeat.stop()
        handle.stop(timeout=args.shutdown_timeout)
        state.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        logger.info("Worker %d stopped.", os.getpid())
    return 0
