"""``db.session``: one per application context, removed when the context tears down."""

from __future__ import annotations

import sys
import threading
import typing as t

import pytest
import sqlalchemy as sa

import erlen
from erlen.ext.sqlalchemy import Session
from erlen.ext.sqlalchemy import SQLAlchemy

support = sys.modules["erlen_tests_sqlalchemy_support"]  # loaded by ../conftest.py


def test_one_session_per_app_context(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with db_app.app_context():
        first = db.session()
        assert db.session() is first
        assert isinstance(first, Session)
    with db_app.app_context():
        assert db.session() is not first


def test_session_is_closed_and_forgotten_at_teardown(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    with db_app.app_context():
        session = db.session()
        session.add(Author(name="never committed"))
        assert session.new
    # Teardown closed it: nothing pending leaks into the next context.
    assert not session.new
    assert list(session) == []
    with db_app.app_context():
        assert db.session.scalars(sa.select(Author)).all() == []


def test_uncommitted_changes_are_rolled_back_at_teardown(
    db_app: erlen.Erlen, db: SQLAlchemy
) -> None:
    Author = db.models.Author
    with db_app.app_context():
        db.session.add(Author(name="Ada"))
        db.session.commit()
    with db_app.app_context():
        author = db.session.scalars(sa.select(Author)).one()
        author.name = "changed, not committed"
        db.session.flush()
    with db_app.app_context():
        assert db.session.scalars(sa.select(Author.name)).all() == ["Ada"]


def test_nested_app_contexts_have_separate_sessions(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with db_app.app_context():
        outer = db.session()
        with db_app.app_context():
            inner = db.session()
            assert inner is not outer
        # The inner teardown removed only its own session.
        assert db.session() is outer


def test_threads_with_their_own_app_context_get_their_own_session(
    db_app: erlen.Erlen, db: SQLAlchemy
) -> None:
    sessions: list[object] = []

    def work() -> None:
        with db_app.app_context():
            sessions.append(db.session())

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(session) for session in sessions}) == 3


def test_one_request_shares_one_session_and_ends_it(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    seen: list[object] = []

    @db_app.before_request
    def remember() -> None:
        seen.append(db.session())

    @db_app.post("/authors/<name>")
    def add(name: str) -> str:
        assert db.session() is seen[-1]
        db.session.add(Author(name=name))
        db.session.commit()
        return "ok"

    @db_app.post("/pending/<name>")
    def pending(name: str) -> str:
        db.session.add(Author(name=name))
        return "not committed"

    client = db_app.test_client()
    assert client.post("/authors/ada").status_code == 200
    assert client.post("/pending/bob").status_code == 200
    assert seen[0] is not seen[1]
    with db_app.app_context():
        assert db.session.scalars(sa.select(Author.name)).all() == ["ada"]


def test_session_outside_an_app_context_explains_the_fix(db: SQLAlchemy) -> None:
    with pytest.raises(RuntimeError, match=r"app\.app_context\(\)"):
        db.session()


def test_session_options_are_passed_to_the_sessionmaker(app: erlen.Erlen) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app, session_options={"expire_on_commit": False, "autoflush": False})
    with app.app_context():
        assert db.session().expire_on_commit is False
        assert db.session().autoflush is False


def test_a_connection_the_database_dropped_is_discarded_at_teardown_with_a_warning(
    app: erlen.Erlen,
    db: SQLAlchemy,
    postgres_url: str,
    disposer: t.Callable[[SQLAlchemy, erlen.Erlen], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = postgres_url
    db.init_app(app)
    disposer(db, app)
    sessions: list[Session] = []

    @app.get("/dropped")
    def dropped() -> str:
        sessions.append(db.session())
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        support.terminate_backend(pid)  # the response is made; the rollback will fail
        return "answered"

    @app.get("/next")
    def next_request() -> str:
        sessions.append(db.session())
        return str(db.session.scalar(sa.text("SELECT 1")))

    client = app.test_client()  # testing mode: anything raised in teardown would propagate
    assert client.get("/dropped").text == "answered"
    assert client.get("/next").text == "1"  # the pool opened a new connection

    assert sessions[0] is not sessions[1]  # the broken session was forgotten
    (warning,) = [r for r in caplog.records if r.name == "erlen.ext.sqlalchemy"]
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        "The database connection was lost before the session closed:"
        " terminating connection due to administrator command"
    )


def test_other_errors_closing_the_session_still_propagate_and_forget_it(
    db_app: erlen.Erlen, db: SQLAlchemy
) -> None:
    def fails(session: Session, transaction: t.Any) -> None:
        raise RuntimeError("close failed")

    with pytest.raises(RuntimeError, match="close failed"):
        with db_app.app_context():
            broken = db.session()
            db.session.scalar(sa.text("SELECT 1"))  # a transaction for close() to end
            sa.event.listen(broken, "after_transaction_end", fails)
    sa.event.remove(broken, "after_transaction_end", fails)
    # Left registered, it would be handed to a later context that gets the same id.
    assert broken not in db.session.registry.registry.values()
