"""Background jobs on Dramatiq: ``jobs = Jobs()``, ``@jobs.actor``, ``job.send(...)``.

Declare jobs at import time, before any app exists::

    from erlen.ext.jobs import Jobs

    jobs = Jobs()

    @jobs.actor(max_retries=3)
    def process_message(message_id: int) -> None:
        ...

``jobs.init_app(app)`` builds the broker from ``BROKER_URL`` (Redis, or ``memory://`` for
an in-process queue) and binds every job to it; views then call
``process_message.send(42)``. Jobs run inside ``app.app_context()``, on a worker process
(``jobs.worker_main(create_app)`` behind ``python -m worker``) or on worker threads of the
web process (``jobs.run_worker_thread()``, embedded mode). Delivery is at-least-once, with
retries, backoff, enforced time limits and a dead-letter queue (``jobs.failed()``,
``erlen jobs failed|retry|purge``). Jobs can report progress to a realtime channel and be
cancelled (``jobs.report_progress``, ``jobs.cancel``), run on a schedule
(``JOBS_SCHEDULE``), and turn duplicate deliveries into no-ops
(:class:`erlen.ext.jobs.idempotency.JobKeys`). See ``docs/ext/jobs.md``.
"""

from __future__ import annotations

from .deadletters import DeadLetter as DeadLetter
from .errors import JobArgumentError as JobArgumentError
from .errors import JobCancelled as JobCancelled
from .errors import JobError as JobError
from .extension import Job as Job
from .extension import Jobs as Jobs
from .extension import JobsState as JobsState
from .extension import make_broker as make_broker
from .middleware import AppContext as AppContext
from .worker import check_heartbeat as check_heartbeat
from .worker import WorkerHandle as WorkerHandle
