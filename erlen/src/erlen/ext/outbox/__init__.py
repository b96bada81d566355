"""A transactional outbox: a committed write and the jobs and events it implies all happen.

Without it, a use case commits and then enqueues a job and publishes an event; if Redis is
down (or the process dies) in between, the write stands and its job is lost. With it, the
intents are rows written in the **same transaction** as the write::

    from erlen.ext.outbox import Outbox

    outbox = Outbox(db.metadata, jobs=jobs, publisher=publisher)

    def post_message(*, session, author, body):
        message = Message(author=author, body=body)
        session.add(message)
        session.flush()
        outbox.publish(session, "board", "message.posted", {"id": message.id})
        outbox.send(session, process_message, message.id)
        session.commit()

After the commit the process delivers them at once (a Redis outage never fails or holds
up the request); what it couldn't deliver the relay (a thread beside every job worker)
delivers once Redis is back. A rollback drops them. Each job row is enqueued with the
row's id as its message id, so a duplicate enqueue is a no-op for a job that claims its
:class:`~erlen.ext.jobs.idempotency.JobKeys` key; events carry the id as ``outbox_id``.
See ``docs/ext/outbox.md``.
"""

from __future__ import annotations

from .delivery import Intent as Intent
from .extension import Outbox as Outbox
from .extension import OutboxState as OutboxState
from .relay import Relay as Relay
from .relay import RelayPass as RelayPass
from .table import outbox_table as outbox_table
