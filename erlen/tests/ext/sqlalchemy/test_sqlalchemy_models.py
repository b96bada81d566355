"""``db.Model``: typed models, table names, inheritance, base classes, and CRUD on both DBs."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

import erlen
from erlen.ext.sqlalchemy import Model
from erlen.ext.sqlalchemy import SQLAlchemy
from erlen.ext.sqlalchemy.model import DefaultMeta


def test_table_name_is_the_class_name_in_snake_case() -> None:
    db = SQLAlchemy()

    class UserAccount(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    class HTTPRequestLog(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    class Item2FA(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    assert UserAccount.__table__.name == "user_account"
    assert HTTPRequestLog.__table__.name == "http_request_log"
    assert Item2FA.__table__.name == "item2_fa"
    assert set(db.metadata.tables) == {"user_account", "http_request_log", "item2_fa"}


def test_explicit_table_name_is_kept() -> None:
    db = SQLAlchemy()

    class Message(db.Model):  # type: ignore[name-defined, misc]
        __tablename__ = "messages"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert Message.__table__.name == "messages"


def test_explicit_table_is_used_as_is() -> None:
    db = SQLAlchemy()

    class Legacy(db.Model):  # type: ignore[name-defined, misc]
        __table__ = sa.Table(
            "legacy_things", db.metadata, sa.Column("id", sa.Integer, primary_key=True)
        )

    assert Legacy.__table__.name == "legacy_things"


def test_subclass_without_its_own_primary_key_shares_the_parent_table() -> None:
    db = SQLAlchemy()

    class Person(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str]
        __mapper_args__: t.ClassVar[dict[str, t.Any]] = {
            "polymorphic_on": "kind",
            "polymorphic_identity": "person",
        }

    class Customer(Person):
        loyalty: Mapped[int | None]
        __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"polymorphic_identity": "customer"}

    class Employee(Person):
        id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), primary_key=True)
        __mapper_args__: t.ClassVar[dict[str, t.Any]] = {"polymorphic_identity": "employee"}

    assert Customer.__table__ is Person.__table__
    assert "loyalty" in Person.__table__.c
    assert Employee.__table__.name == "employee"
    assert set(db.metadata.tables) == {"person", "employee"}


def test_constraints_are_named_for_migrations() -> None:
    db = SQLAlchemy()

    class Tag(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(20), unique=True, index=True)
        parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tag.id"))

    names = {c.name for c in Tag.__table__.constraints} | {i.name for i in Tag.__table__.indexes}
    assert names == {"pk_tag", "fk_tag_parent_id_tag", "ix_tag_name"}


def test_own_metadata_replaces_the_naming_convention() -> None:
    metadata = sa.MetaData(naming_convention={"pk": "%(table_name)s_pkey"})
    db = SQLAlchemy(metadata=metadata)

    class Tag(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    assert db.metadata is metadata
    assert Tag.__table__.primary_key.name == "tag_pkey"


def test_declarative_base_as_model_class_shares_its_registry_and_type_map() -> None:
    class Base(DeclarativeBase):
        type_annotation_map: t.ClassVar[dict[t.Any, t.Any]] = {str: sa.String(30)}

    db = SQLAlchemy(model_class=Base)

    class Note(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str]

    assert Note.__table__.name == "note"
    assert db.metadata is Base.metadata
    assert isinstance(Note.__table__.c.text.type, sa.String)
    assert Note.__table__.c.text.type.length == 30
    assert issubclass(Note, Base)


def test_base_with_the_model_mixin_is_used_as_db_model() -> None:
    # The mypy-friendly spelling: models subclass a class the type checker can see.
    class Base(Model, DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Book(Base):
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]

    assert db.Model is Base
    assert t.cast(sa.Table, Book.__table__).name == "book"
    assert db.metadata.tables["book"] is Book.__table__


def test_plain_mixin_as_model_class_adds_to_every_model() -> None:
    class Timestamps:
        created: Mapped[int] = mapped_column(default=0)

    db = SQLAlchemy(model_class=Timestamps)

    class Event(db.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    assert "created" in Event.__table__.c
    assert isinstance(db.Model, DefaultMeta)
    assert issubclass(db.Model, Timestamps)


def test_each_extension_has_its_own_metadata() -> None:
    one, two = SQLAlchemy(), SQLAlchemy()

    class Thing(one.Model):  # type: ignore[name-defined, misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    assert "thing" in one.metadata.tables
    assert "thing" not in two.metadata.tables
    assert one.Model.metadata is one.metadata


def test_repr_shows_state_or_primary_key(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    with db_app.app_context():
        author = Author(name="Ada")
        assert repr(author) == f"<Author (transient {id(author)})>"
        db.session.add(author)
        assert repr(author) == f"<Author (pending {id(author)})>"
        db.session.commit()
        assert repr(author) == f"<Author {author.id}>"


def test_create_read_update_delete(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author, Post = db.models
    with db_app.app_context():
        ada = Author(name="Ada")
        ada.posts.append(Post(title="Notes on the engine"))
        db.session.add(ada)
        db.session.commit()
        ada_id = ada.id

    with db_app.app_context():
        ada = db.session.get(Author, ada_id)
        assert ada is not None
        assert [p.title for p in ada.posts] == ["Notes on the engine"]
        ada.name = "Ada Lovelace"
        db.session.commit()

    with db_app.app_context():
        names = db.session.scalars(sa.select(Author.name)).all()
        assert names == ["Ada Lovelace"]
        db.session.execute(sa.delete(Post))
        db.session.delete(db.session.get(Author, ada_id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Author)) == 0


def test_unique_constraint_is_enforced(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    with db_app.app_context():
        db.session.add_all([Author(name="Ada"), Author(name="Ada")])
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalars(sa.select(Author)).all() == []


def test_create_all_and_drop_all(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with db_app.app_context():
        assert set(sa.inspect(db.engine).get_table_names()) == {"author", "post"}
        db.drop_all()
        assert sa.inspect(db.engine).get_table_names() == []
        db.create_all()
        assert set(sa.inspect(db.engine).get_table_names()) == {"author", "post"}


def test_reflect_loads_existing_tables(db_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with db_app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE legacy (id INTEGER PRIMARY KEY)"))
        db.reflect()
        assert "legacy" in db.metadata.tables
        db.metadata.remove(db.metadata.tables["legacy"])
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE legacy"))
