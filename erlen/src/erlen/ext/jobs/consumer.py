"""The Redis consumer of erlen's broker: Dramatiq's, minus two waits that cost throughput
and plus acks that share round trips.

**A full window waits for an ack, not for a timer.** A consumer holds at most
``prefetch`` messages (twice the worker threads) that are fetched but not yet acked. When
the window is full, Dramatiq's consumer sleeps 5–10 ms, then twice that on each further
try, before it looks again — and short jobs finish long before: two workers of four threads
spent most of a no-op drain asleep, capped near 900 jobs/s each. Here the consumer thread
waits until a worker thread acks (or rejects) a message, then fetches at once. It still
returns to the worker's loop within the idle timeout, as Dramatiq's does, to check for
shutdown and delayed messages. An empty queue backs off as before.

**Acks share round trips (group commit).** Every finished job costs one ``EVALSHA`` to ack
it. A worker thread acking while another thread's ack is on the wire queues its id; when
that round trip ends, one waiting thread sends every queued ack in one pipeline. An ack
still returns only once Redis has it, so delivery is unchanged: it is the same ``ack``
command of Dramatiq's own script, and a lone ack goes out alone, at once.
"""

from __future__ import annotations

import threading
import typing as t

import redis
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed


class _Ticket:
    """One worker thread's ack, waiting to go out in a batch."""

    __slots__ = ("message_id", "sent", "error")

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.sent = False
        self.error: BaseException | None = None


class Consumer(dramatiq_redis._RedisConsumer):
    """See the module docstring."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        # One lock for both waits: worker threads for their batch, the consumer thread for
        # room in its window.
        self._acks = threading.Condition()
        self._pending: list[_Ticket] = []
        self._sending = False
        self._window_wait = False

    # -- the window ----------------------------------------------------------------------

    def __next__(self) -> t.Any:
        # A delay queue's consumer thread acks its messages itself (once their time has
        # come, between fetches): waiting for an ack there would only wait out the timeout.
        if (
            not self.message_cache
            and self.outstanding_message_count >= self.prefetch
            and not self.queue_name.endswith(".DQ")
        ):
            with self._acks:
                self._window_wait = True
                try:
                    room = self._acks.wait_for(
                        lambda: self.outstanding_message_count < self.prefetch,
                        timeout=self.timeout / 1000,
                    )
                finally:
                    self._window_wait = False
            if not room:
                return None  # back to the worker's loop, as after an idle poll
        return super().__next__()  # type: ignore[no-untyped-call]

    def _settled(self, message: t.Any) -> None:
        """A fetched message left the window (acked or rejected): wake a waiting fetch."""
        self.queued_message_ids.discard(message.message_id)
        if self._window_wait:
            with self._acks:
                self._acks.notify_all()

    def nack(self, message: t.Any) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._settled(message)

    # -- acks ----------------------------------------------------------------------------

    def ack(self, message: t.Any) -> None:
        ticket = _Ticket(message.options["redis_message_id"])
        try:
            with self._acks:
                self._pending.append(ticket)
                while self._sending and not ticket.sent:
                    self._acks.wait()
                if not ticket.sent:
                    # Nobody is sending: this thread sends what is queued, its own included.
                    self._sending = True
                    batch, self._pending = self._pending, []
            if not ticket.sent:
                self._send(batch)
        finally:
            self._settled(message)
        if ticket.error is not None:
            if isinstance(ticket.error, redis.ConnectionError):
                raise ConnectionClosed(ticket.error) from None  # type: ignore[no-untyped-call]
            raise ticket.error

    def _send(self, batch: list[_Ticket]) -> None:
        # Until the round trip ends normally, no ticket of the batch counts as acked.
        error: BaseException | None = RuntimeError("the ack's round trip was interrupted")
        try:
            if len(batch) == 1:
                self.broker.do_ack(self.queue_name, batch[0].message_id)
            else:
                self._send_pipelined([ticket.message_id for ticket in batch])
            error = None
        except Exception as exc:  # handed to every thread of the batch, raised there
            error = exc
        finally:
            with self._acks:
                for ticket in batch:
                    ticket.sent, ticket.error = True, error
                self._sending = False
                self._acks.notify_all()

    def _send_pipelined(self, message_ids: list[str]) -> None:
        broker = self.broker
        script = broker.scripts["dispatch"]
        pipe = broker.client.pipeline(transaction=False)
        for message_id in message_ids:
            # dispatch.lua's arguments, as Dramatiq's own do_ack passes them (an ack never
            # carries a maintenance pass).
            pipe.evalsha(
                script.sha,
                1,
                broker.namespace,
                "ack",
                current_millis(),
                self.queue_name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                0,
                broker._max_unpack_size(),
                message_id,
            )
        try:
            pipe.execute()
        except redis.exceptions.NoScriptError:
            # Redis lost its scripts (a restart): Dramatiq's call loads them again. An ack
            # is idempotent, so acking ids that the pipeline did ack is harmless.
            for message_id in message_ids:
                broker.do_ack(self.queue_name, message_id)
