"""Marking delivered rows from a thread of its own, off the request's path.

After a commit, the committing process delivers the intents at once; marking their rows
delivered is a second transaction that nothing waits for. Done inline it was the largest part
of what the outbox added to a request (a round trip per statement, plus a commit). A
:class:`Marker` takes the ids, and a daemon thread writes them, all that have queued up
meanwhile in one ``UPDATE`` per engine. A mark lost in a crash only means the relay delivers
those intents once more, which delivery (at least once) already allows.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import typing as t
import uuid

import sqlalchemy as sa

from .delivery import describe

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import Outbox

logger = logging.getLogger("erlen.ext.outbox")

#: Seconds the interpreter's exit waits for the marks still queued.
EXIT_FLUSH_TIMEOUT = 2.0
#: Most commits' ids written by one ``UPDATE``.
MAX_BATCH = 500


class Marker:
    """Marks rows delivered in the background, many commits' rows per statement.

    :param outbox: The outbox whose table is marked.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._queue: queue.SimpleQueue[tuple[sa.Engine, list[uuid.UUID]]] = queue.SimpleQueue()
        self._idle = threading.Condition()
        #: Batches queued and not yet written (or given up).
        self._unwritten = 0
        self._thread: threading.Thread | None = None
        self._pid = 0
        atexit.register(self.flush, EXIT_FLUSH_TIMEOUT)

    def add(self, engine: sa.Engine, ids: list[uuid.UUID]) -> None:
        """Queue ``ids`` to be marked delivered on ``engine``."""
        with self._idle:
            self._unwritten += 1
            # A forked child inherits the object but not the thread: start its own.
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="erlen-outbox-marker", daemon=True
                )
                self._thread.start()
        self._queue.put((engine, ids))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued mark is written; ``False`` if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unwritten == 0, timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_engine: dict[sa.Engine, list[uuid.UUID]] = {}
            for engine, ids in batch:
                by_engine.setdefault(engine, []).extend(ids)
            for engine, ids in by_engine.items():
                try:
                    self._outbox.mark_delivered(engine, ids)
                except Exception as e:
                    logger.warning(
                        "Could not mark %d delivered outbox rows (%s); the relay will deliver"
                        " them once more.",
                        len(ids),
                        describe(e),
                    )
            with self._idle:
                self._unwritten -= len(batch)
                self._idle.notify_all()
