"""``SQLALCHEMY_BINDS`` and ``__bind_key__``: models that live in other databases."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

import erlen
from erlen.ext.sqlalchemy import SQLAlchemy


class BoundModels(t.NamedTuple):
    db: SQLAlchemy
    User: type[t.Any]
    Event: type[t.Any]
    app: erlen.Erlen


@pytest.fixture
def bound(app: erlen.Erlen, database_url: str, tmp_path: Path) -> t.Iterator[BoundModels]:
    """Users in the default database; events in the "audit" bind (a SQLite file)."""
    db = SQLAlchemy()

    class User(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50))

    class Event(db.Model):  # type: ignore[name-defined, misc]
        __bind_key__ = "audit"
        id: Mapped[int] = mapped_column(primary_key=True)
        what: Mapped[str] = mapped_column(sa.String(50))

    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    app.config["SQLALCHEMY_BINDS"] = {
        "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}", "echo": False}
    }
    db.init_app(app)
    with app.app_context():
        db.create_all()
    yield BoundModels(db, User, Event, app)
    with app.app_context():
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_bound_model_has_its_own_metadata(bound: BoundModels) -> None:
    db = bound.db
    assert set(db.metadatas) == {None, "audit"}
    assert set(db.metadata.tables) == {"user"}
    assert set(db.metadatas["audit"].tables) == {"event"}


def test_create_all_creates_each_table_in_its_database(bound: BoundModels) -> None:
    db = bound.db
    with bound.app.app_context():
        assert _tables(db.engine) == {"user"}
        assert _tables(db.get_engine("audit")) == {"event"}


def test_session_sends_each_model_to_its_database(bound: BoundModels) -> None:
    db, User, Event = bound.db, bound.User, bound.Event
    with bound.app.app_context():
        db.session.add_all([User(name="ada"), Event(what="signed up")])
        db.session.commit()
        assert db.session.scalars(sa.select(Event.what)).all() == ["signed up"]
        assert db.session.scalars(sa.select(User.name)).all() == ["ada"]
        # Core statements on a bound table go to that bind too.
        db.session.execute(sa.insert(Event.__table__).values(what="logged in"))
        db.session.commit()
        with db.get_engine("audit").connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM event")).scalar_one()
        assert count == 2


def test_create_all_for_one_bind(bound: BoundModels) -> None:
    db = bound.db
    with bound.app.app_context():
        db.drop_all(bind_key="audit")
        assert _tables(db.get_engine("audit")) == set()
        assert _tables(db.engine) == {"user"}
        db.create_all(bind_key=["audit"])
        assert _tables(db.get_engine("audit")) == {"event"}


def test_bind_key_on_an_abstract_base_applies_to_its_subclasses() -> None:
    db = SQLAlchemy()

    class ArchiveModel(db.Model):  # type: ignore[name-defined, misc]
        __abstract__ = True
        __bind_key__ = "archive"
        id: Mapped[int] = mapped_column(primary_key=True)

    class OldOrder(ArchiveModel):
        pass

    assert set(db.metadatas["archive"].tables) == {"old_order"}
    assert "old_order" not in db.metadata.tables


def test_model_with_an_unconfigured_bind_is_a_clear_error(app: erlen.Erlen) -> None:
    db = SQLAlchemy()

    class Orphan(db.Model):  # type: ignore[name-defined, misc]
        __bind_key__ = "missing"
        id: Mapped[int] = mapped_column(primary_key=True)

    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    with app.app_context():
        with pytest.raises(sa.exc.UnboundExecutionError, match="'missing'"):
            db.create_all()
        with pytest.raises(sa.exc.UnboundExecutionError, match="'missing'"):
            db.session.scalars(sa.select(Orphan)).all()
        for engine in db.engines.values():
            engine.dispose()


def test_binds_without_a_default_database(app: erlen.Erlen, tmp_path: Path) -> None:
    db = SQLAlchemy()

    class Only(db.Model):  # type: ignore[name-defined, misc]
        __bind_key__ = "only"
        id: Mapped[int] = mapped_column(primary_key=True)

    app.config["SQLALCHEMY_BINDS"] = {"only": f"sqlite:///{tmp_path / 'only.db'}"}
    db.init_app(app)
    with app.app_context():
        db.create_all()
        db.session.add(Only())
        db.session.commit()
        assert db.session.scalars(sa.select(Only)).one().id == 1
        with pytest.raises(RuntimeError, match="no default database"):
            db.engine  # noqa: B018
        db.get_engine("only").dispose()
