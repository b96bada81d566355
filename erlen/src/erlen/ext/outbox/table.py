"""The outbox table: one row per job or event a transaction implies, until it is delivered."""

from __future__ import annotations

import sqlalchemy as sa

#: Default name of the outbox table.
DEFAULT_TABLE = "erlen_outbox"
#: ``kind`` of a row that enqueues a job.
JOB = "job"
#: ``kind`` of a row that publishes a realtime event.
EVENT = "event"
#: Longest job name or channel.
TARGET_LENGTH = 255


def outbox_table(metadata: sa.MetaData, name: str = DEFAULT_TABLE) -> sa.Table:
    """Declare the outbox table on ``metadata`` (or return it if it is already there).

    Columns: ``id`` (a UUID, also the enqueued job's message id and the event's
    ``outbox_id``), ``kind`` (``job`` or ``event``), ``target`` (the job's name or the
    event's channel), ``payload`` (JSON: the job's ``args``/``kwargs``, or the event),
    ``created_at``, ``attempts``, ``next_attempt_at`` (when the relay may take the row;
    ``NULL`` once delivered or given up), ``delivered_at`` and ``last_error``.
    """
    if name in metadata.tables:
        return metadata.tables[name]
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(TARGET_LENGTH), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        # Indexed: the relay's query is "due rows, oldest first".
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True, index=True),
        # Indexed: pruning deletes delivered rows by age.
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
