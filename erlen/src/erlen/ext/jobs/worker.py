"""Running workers: in a thread of the web process (embedded mode), or as a process.

A worker process (``python -m worker``) writes a heartbeat file every few seconds while
its threads are alive and its broker answers; ``python -m worker --check`` exits 0 only
if that file is fresh, which is what a container health check runs. On SIGTERM the worker
stops taking jobs, lets running ones finish (up to ``--shutdown-timeout``), returns
prefetched ones to the queue, and exits 0.
"""

from __future__ import annotations

import argparse
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

if t.TYPE_CHECKING:  # pragma: no cover
    from ...app import Erlen
    from .extension import Jobs
    from .extension import JobsState

logger = logging.getLogger("erlen.ext.jobs")

#: Where the heartbeat goes unless ``--heartbeat-file`` or ``WORKER_HEARTBEAT_FILE`` say.
DEFAULT_HEARTBEAT_FILE = os.path.join(tempfile.gettempdir(), "erlen-worker.heartbeat")


class WorkerHandle:
    """A running Dramatiq worker; :meth:`stop` it when done."""

    def __init__(self, worker: dramatiq.Worker) -> None:
        self.worker = worker
        self.running = True

    def join(self) -> None:
        """Wait until the worker has no job queued or running (for tests)."""
        self.worker.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs, wait up to ``timeout`` s for running ones, requeue the rest."""
        if not self.running:
            return
        self.running = False
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
) -> WorkerHandle:
    """Start a Dramatiq worker on ``state``'s broker in background threads."""
    worker = dramatiq.Worker(
        state.broker,
        worker_threads=worker_threads,
        queues=set(queues) if queues else None,
        # How often idle threads look up; short, so stop() returns quickly.
        worker_timeout=worker_timeout,
    )
    worker.start()
    return WorkerHandle(worker)


class Heartbeat:
    """Writes the current time to a file every ``interval`` s while ``check`` finds no problem."""

    def __init__(self, path: str, interval: float, check: t.Callable[[], str | None]) -> None:
        self.path = path
        self.interval = interval
        self.check = check
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="erlen-heartbeat", daemon=True)

    def start(self) -> None:
        """Beat now, then every ``interval`` seconds."""
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and remove the file, so a stopped worker is never seen as healthy."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
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
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{time.time():.3f}\n")
        os.replace(tmp, self.path)


def check_heartbeat(path: str, max_age: float) -> tuple[bool, str]:
    """Whether the heartbeat at ``path`` is at most ``max_age`` seconds old, and why."""
    try:
        with open(path) as f:
            beat = float(f.read().strip())
    except FileNotFoundError:
        return False, f"unhealthy: no heartbeat file at {path}."
    except (OSError, ValueError) as e:
        return False, f"unhealthy: can't read the heartbeat at {path} ({e})."
    age = time.time() - beat
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
        help="heartbeat path (default: $WORKER_HEARTBEAT_FILE or %(default)s)",
    )
    parser.add_argument(
        "--heartbeat-interval", type=float, default=5.0, help="seconds between heartbeats"
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
    handle = start_worker(state, worker_threads=args.threads, queues=queues, worker_timeout=1000)
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
