"""Idempotency keys in the database: a duplicate delivery of a job becomes a no-op.

Jobs are at-least-once: a job can run again after its worker died between committing and
acknowledging, or when a scheduler hand-over or a user's retry sends it twice. For a job
whose effect is a database write, the key is stored in the **same transaction** as the
effect, so either both are committed or neither is::

    # web/models.py (or wherever your metadata lives): declares the table, so
    # migrations create it
    job_keys = JobKeys(db.metadata)

    @jobs.actor
    def charge(order_id: int) -> None:
        if not job_keys.claim(db.session):  # key: this job's message id
            return  # an earlier delivery already committed its effect
        db.session.add(Charge(order_id=order_id))
        db.session.commit()  # the charge and the key, together

If the job fails before the commit, the key is rolled back with the effect, and the retry
runs. On Postgres and SQLite a duplicate inserts nothing (``ON CONFLICT DO NOTHING``); on
other databases it rolls the session back, so call ``claim`` before any other write. Two
deliveries running at the same time: on Postgres the second one's insert waits for the
first transaction and then sees its outcome; on SQLite writers are serialised anyway.
"""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import UTC

import sqlalchemy as sa
from dramatiq.middleware import CurrentMessage
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

#: Default name of the keys table.
DEFAULT_TABLE = "erlen_job_keys"
#: Longest key.
KEY_LENGTH = 255

_UPSERT: dict[str, t.Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class JobKeys:
    """The table of claimed job keys, declared on your ``MetaData``.

    :param metadata: The metadata your migrations are generated from.
    :param table_name: The table's name.
    """

    def __init__(self, metadata: sa.MetaData, table_name: str = DEFAULT_TABLE) -> None:
        if table_name in metadata.tables:
            self.table = metadata.tables[table_name]
        else:
            self.table = sa.Table(
                table_name,
                metadata,
                sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
                sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
            )

    def claim(self, session: t.Any, key: str | None = None) -> bool:
        """Record ``key`` in ``session``'s transaction; ``False`` if it is already there.

        ``True`` means: go on, do the effect, and commit it (the key commits with it).
        ``False`` means a committed earlier delivery did it: return without doing anything.

        :param session: A SQLAlchemy ``Session`` (``db.session`` works).
        :param key: Default: the running job's message id, which stays the same across
            retries, redeliveries and ``erlen jobs retry``.
        :raise RuntimeError: No key given outside a job.
        """
        if key is None:
            message = CurrentMessage.get_current_message()
            if message is None:
                raise RuntimeError("JobKeys.claim() needs a key outside a running job.")
            key = message.message_id
        if len(key) > KEY_LENGTH:
            raise ValueError(f"Job key {key[:40]!r}... is longer than {KEY_LENGTH} characters.")
        values = {"key": key, "claimed_at": datetime.now(UTC)}
        dialect = session.get_bind(clause=self.table).dialect.name
        if dialect in _UPSERT:
            # No exception and no savepoint (which pysqlite mishandles): the duplicate
            # simply inserts nothing. On Postgres it first waits for a concurrent
            # transaction holding the same key, then sees its outcome.
            statement = (
                _UPSERT[dialect](self.table)
                .values(**values)
                .on_conflict_do_nothing()
                .returning(self.table.c.key)
            )
            return session.execute(statement).first() is not None
        try:
            session.execute(self.table.insert().values(**values))
        except IntegrityError:
            # Other databases: the failed insert spoils the transaction; call claim first.
            session.rollback()
            return False
        return True

    def seen(self, session: t.Any, key: str) -> bool:
        """Whether ``key`` was claimed and committed (or claimed in this transaction)."""
        query = sa.select(self.table.c.key).where(self.table.c.key == key)
        return session.execute(query).first() is not None

    def forget_older_than(self, session: t.Any, moment: datetime) -> int:
        """Delete keys claimed before ``moment`` (run it periodically); returns how many.

        Keep keys longer than a job can be retried or redelivered (the dead-letter TTL,
        7 days by default, when dead letters may be retried).
        """
        result = session.execute(self.table.delete().where(self.table.c.claimed_at < moment))
        return int(result.rowcount or 0)
