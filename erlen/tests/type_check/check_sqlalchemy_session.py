"""mypy-only: ``db.session`` and a plain session both fit ``SessionLike``; the typed base works.

Run by ``tests/test_typing.py``. Each ``type: ignore`` marks a line that must be a type error;
``warn_unused_ignores`` (part of ``--strict``) fails if it isn't.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_type

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from erlen.ext.sqlalchemy import Model
from erlen.ext.sqlalchemy import Session
from erlen.ext.sqlalchemy import SessionLike
from erlen.ext.sqlalchemy import SQLAlchemy


class Base(Model, DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Note(Base):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def rename(*, session: SessionLike, note_id: int, text: str) -> Note | None:
    note = session.get(Note, note_id)
    if note is not None:
        note.text = text
        session.commit()
    return note


def plain_only(*, session: sa.orm.Session) -> None:
    pass


# The scoped session of the extension, and any plain session, are accepted.
assert_type(rename(session=db.session, note_id=1, text="a"), Note | None)
assert_type(rename(session=sa.orm.Session(), note_id=1, text="a"), Note | None)
assert_type(rename(session=db.session(), note_id=1, text="a"), Note | None)
assert_type(db.session(), Session)

# Results keep their model types through the union.
assert_type(db.session.scalars(sa.select(Note)).all(), Sequence[Note])
assert_type(Note(text="x").text, str)

# The scoped proxy is not a Session: SessionLike is needed to pass it, not a lie about it.
plain_only(session=db.session)  # type: ignore[arg-type]

# A misspelt method is caught on the union.
db.session.comit()  # type: ignore[attr-defined]


def wrong_model(*, session: SessionLike) -> str | None:
    return session.get(Note, 1)  # type: ignore[return-value]
