"""The Redis broker with a bounded recovery time, and the recovery pass that bounds it.

Dramatiq requeues a dead worker's unfinished jobs during a "maintenance" pass that runs on
a random share of broker commands, and only for the queue that command names. With one
idle worker polling about once a second, a 10 % chance left a killed worker's jobs
waiting 5–38 s (median 8 s) in ten trials. :class:`RedisBroker` adds a pass you can
request (:meth:`RedisBroker.recover`), and every worker runs it on each served queue every
``JOBS_MAINTENANCE_INTERVAL`` ms, so the wait is bounded by the heartbeat timeout plus that
interval plus one poll.
"""

from __future__ import annotations

import threading
import typing as t

from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.common import dq_name
from dramatiq.common import q_name

from .consumer import Consumer


class RedisBroker(dramatiq_redis.RedisBroker):
    """Dramatiq's Redis broker, plus :meth:`recover` (a maintenance pass on demand), on
    erlen's :class:`~.consumer.Consumer`."""

    @property
    def consumer_class(self) -> type[Consumer]:
        return Consumer

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        # Per thread, so forcing a pass never turns other threads' commands into passes.
        self._forced = threading.local()

    def _should_do_maintenance(self, command: str) -> int:
        if getattr(self._forced, "on", False):
            return 1
        return int(super()._should_do_maintenance(command))

    def recover(self, queue_names: t.Iterable[str]) -> None:
        """Requeue the unfinished jobs of dead workers on these queues (and their delay
        queues), and expire old dead letters: Dramatiq's maintenance pass, now.

        ``qsize`` carries the pass because it changes nothing else.
        """
        self._forced.on = True
        try:
            for name in queue_names:
                self.do_qsize(q_name(name))
                self.do_qsize(dq_name(q_name(name)))
        finally:
            self._forced.on = False
