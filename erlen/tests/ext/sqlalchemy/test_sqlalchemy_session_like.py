"""``SessionLike``: one function body works with ``db.session`` and with a plain session."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm

import erlen
from erlen.ext.sqlalchemy import SessionLike
from erlen.ext.sqlalchemy import SQLAlchemy


def add_author(*, session: SessionLike, model: type[t.Any], name: str) -> int:
    author = model(name=name)
    session.add(author)
    session.commit()
    return int(author.id)


def count_authors(*, session: SessionLike, model: type[t.Any]) -> int:
    return len(session.scalars(sa.select(model)).all())


def test_a_function_taking_session_like_works_with_db_session(
    db_app: erlen.Erlen, db: SQLAlchemy
) -> None:
    Author = db.models.Author
    with db_app.app_context():
        add_author(session=db.session, model=Author, name="scoped")
    with db_app.app_context():
        assert count_authors(session=db.session, model=Author) == 1


def test_the_same_function_works_with_a_plain_session(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    engine = db.engines_for(db_app)[None]
    with sa_orm.Session(engine) as session:
        add_author(session=session, model=Author, name="plain")
    with db_app.app_context():
        assert count_authors(session=db.session, model=Author) == 1
