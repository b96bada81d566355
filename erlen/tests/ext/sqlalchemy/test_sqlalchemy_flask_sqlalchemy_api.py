"""Flask-SQLAlchemy 3.1's API where erlen once differed: table names under inheritance,
``db.Table``, per-bind metadata and engine options, the legacy query interface, recorded
queries and modification signals.
"""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

import erlen
from erlen.ext.sqlalchemy import SQLAlchemy
from erlen.ext.sqlalchemy.query import Query
from erlen.ext.sqlalchemy.record_queries import get_recorded_queries
from erlen.ext.sqlalchemy.track_modifications import models_committed


@pytest.fixture
def sqlite_app(app: erlen.Erlen) -> erlen.Erlen:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    return app


def test_a_primary_key_from_a_mixin_gives_a_table_of_its_own() -> None:
    db = SQLAlchemy()

    class Animal(db.Model):  # type: ignore[name-defined, misc]
        id = sa.Column(sa.Integer, primary_key=True)

    class IdMixin:
        @sa.orm.declared_attr
        def id(cls):  # type: ignore[no-untyped-def]  # an annotation would be mapped
            return sa.Column(sa.Integer, sa.ForeignKey(Animal.id), primary_key=True)

    class Dog(IdMixin, Animal):
        pass

    class Puppy(Animal):
        pass

    assert Dog.__tablename__ == "dog"
    assert Dog.__table__ is not Animal.__table__
    # No primary key column: single-table inheritance, reading the parent's name.
    assert "__tablename__" not in vars(Puppy)
    assert Puppy.__tablename__ == "animal"
    assert Puppy.__table__ is Animal.__table__


def test_a_joined_subclass_below_a_manual_name_gets_its_own_name() -> None:
    db = SQLAlchemy()

    class Duck(db.Model):  # type: ignore[name-defined, misc]
        __tablename__ = "DUCK"
        id = sa.Column(sa.Integer, primary_key=True)

    class Daffy(Duck):
        id = sa.Column(sa.Integer, sa.ForeignKey(Duck.id), primary_key=True)

    assert Daffy.__tablename__ == "daffy"


def test_disable_autonaming_requires_a_table_name() -> None:
    db = SQLAlchemy(disable_autonaming=True)
    with pytest.raises(sa.exc.InvalidRequestError):

        class Nameless(db.Model):  # type: ignore[name-defined, misc]
            id = sa.Column(sa.Integer, primary_key=True)


def test_db_table_implies_the_metadata_of_its_bind() -> None:
    db = SQLAlchemy()
    default = db.Table("tag", sa.Column("id", sa.Integer, primary_key=True))
    other = db.Table("tag", sa.Column("id", sa.Integer, primary_key=True), bind_key="other")
    explicit = db.Table("tag", sa.MetaData(), sa.Column("id", sa.Integer), bind_key="x")
    assert default.metadata is db.metadata
    assert other.metadata is db.metadatas["other"]
    assert other.metadata.info["bind_key"] == "other"
    assert "x" not in db.metadatas and explicit.metadata is not db.metadata


def test_every_configured_bind_has_metadata_and_only_the_default_gets_engine_options(
    sqlite_app: erlen.Erlen,
) -> None:
    sqlite_app.config["SQLALCHEMY_BINDS"] = {"audit": "sqlite://"}
    sqlite_app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"echo": True}
    db = SQLAlchemy(sqlite_app, engine_options={"pool_pre_ping": False})
    assert db.metadatas["audit"].info["bind_key"] == "audit"
    with sqlite_app.app_context():
        assert db.engine.echo
        assert not db.engines["audit"].echo


def test_get_or_404_passes_options_to_session_get(sqlite_app: erlen.Erlen) -> None:
    db = SQLAlchemy(sqlite_app)

    class Item(db.Model):  # type: ignore[name-defined, misc]
        id = sa.Column(sa.Integer, primary_key=True)

    with sqlite_app.app_context():
        db.create_all()
        db.session.add(Item())
        db.session.commit()
        assert db.get_or_404(Item, 1, populate_existing=True).id == 1
        with pytest.raises(NotFound):
            db.get_or_404(Item, 2)


# Query.get() warns that it is legacy, as it does under Flask-SQLAlchemy.
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.LegacyAPIWarning")
def test_the_legacy_query_interface(sqlite_app: erlen.Erlen) -> None:
    class MyQuery(Query[t.Any]):
        pass

    db = SQLAlchemy(sqlite_app, query_class=MyQuery)

    class Parent(db.Model):  # type: ignore[name-defined, misc]
        id = sa.Column(sa.Integer, primary_key=True)
        children = db.relationship("Child", backref="parent", lazy="dynamic")

    class Child(db.Model):  # type: ignore[name-defined, misc]
        id = sa.Column(sa.Integer, primary_key=True)
        parent_id = sa.Column(sa.Integer, sa.ForeignKey(Parent.id))

    with sqlite_app.app_context():
        db.create_all()
        parent = Parent()
        db.session.add_all([parent, *(Child(parent=parent) for _ in range(25))])
        db.session.commit()
        assert type(Parent.query) is MyQuery
        assert isinstance(parent.children, MyQuery)
        assert Parent.query.get_or_404(1) is parent
        assert Child.query.filter_by(id=3).one_or_404().id == 3
        with pytest.raises(NotFound):
            Child.query.filter_by(id=99).first_or_404()
        page = Child.query.order_by(Child.id).paginate(page=1, per_page=10)
        assert (page.total, page.pages, [c.id for c in page.next().items][:2]) == (25, 3, [11, 12])


def test_recorded_queries_say_what_ran_and_from_where(sqlite_app: erlen.Erlen) -> None:
    sqlite_app.config["SQLALCHEMY_RECORD_QUERIES"] = True
    db = SQLAlchemy(sqlite_app)
    with sqlite_app.app_context():
        db.session.execute(sa.text("SELECT :x"), {"x": 7})
        (info,) = get_recorded_queries()
    assert info.statement == "SELECT ?"
    assert info.parameters == [(7,)]
    assert info.duration >= 0
    assert "test_sqlalchemy_flask_sqlalchemy_api.py:" in info.location
    assert get_recorded_queries() == []  # outside the context: nothing


def test_models_committed_lists_the_changes(sqlite_app: erlen.Erlen) -> None:
    sqlite_app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = True
    db = SQLAlchemy(sqlite_app)

    class Item(db.Model):  # type: ignore[name-defined, misc]
        id: sa.orm.Mapped[int] = sa.orm.mapped_column(primary_key=True)
        name: sa.orm.Mapped[str | None] = sa.orm.mapped_column(sa.String)

    seen: list[list[tuple[t.Any, str]]] = []

    def record(sender: erlen.Erlen, changes: list[tuple[t.Any, str]]) -> None:
        seen.append(changes)

    with sqlite_app.app_context(), models_committed.connected_to(record, sqlite_app):
        db.create_all()
        item = Item(name="a")
        db.session.add(item)
        db.session.commit()
        item.name = "b"
        db.session.commit()
        db.session.delete(item)
        db.session.commit()
    assert [ops for ((_, ops),) in seen] == ["insert", "update", "delete"]
