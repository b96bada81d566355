"""Engines from configuration: URLs, SQLite paths, pool settings, options, app registration."""

from __future__ import annotations

import threading
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

import erlen
from erlen.ext.sqlalchemy import normalize_url
from erlen.ext.sqlalchemy import SQLAlchemy

Disposer = t.Callable[[SQLAlchemy, erlen.Erlen], None]


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+psycopg"),
        ("postgresql://u:p@db.example/app", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db.example/app", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@db.example/app", "postgresql+psycopg2"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_bare_postgres_urls_use_psycopg_3(given: str, driver: str) -> None:
    url = normalize_url(given)
    assert url.drivername == driver
    assert url.database in ("app", "x.db")


def test_postgres_scheme_from_a_hosting_platform_gives_a_working_engine(
    app: erlen.Erlen,
) -> None:
    app.config["DATABASE_URL"] = "postgres://user:secret@db.example:5432/app"
    db = SQLAlchemy(app)
    with app.app_context():
        engine = db.engine
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.password == "secret"
        # Server databases check connections that idled, not every checkout
        # (test_sqlalchemy_idle_ping.py).
        assert engine.pool._pre_ping is False


def test_sqlalchemy_database_uri_wins_over_database_url(app: erlen.Erlen, tmp_path: Path) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'uri.db'}"
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'url.db'}"
    db = SQLAlchemy(app)
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "uri.db")


def test_database_url_is_read_from_the_environment_last(
    app: erlen.Erlen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    db = SQLAlchemy(app)
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "env.db")


def test_no_database_configured_is_a_clear_error(
    app: erlen.Erlen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    message = "Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set."
    with pytest.raises(RuntimeError, match=message):
        SQLAlchemy(app)


def test_relative_sqlite_path_is_in_the_instance_folder(tmp_path: Path, disposer: Disposer) -> None:
    instance = tmp_path / "instance"
    app = erlen.Erlen("sqlite_app", instance_path=str(instance))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///data/app.db"
    db = SQLAlchemy(app)
    disposer(db, app)
    assert instance.is_dir()
    with app.app_context():
        assert db.engine.url.database == str(instance / "data" / "app.db")
        (instance / "data").mkdir()
        with db.engine.connect() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.commit()
    assert (instance / "data" / "app.db").is_file()


def test_relative_sqlite_uri_filename_is_in_the_instance_folder(tmp_path: Path) -> None:
    app = erlen.Erlen("sqlite_app", instance_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///file:app.db?uri=true"
    db = SQLAlchemy(app)
    with app.app_context():
        assert db.engine.url.database == f"file:{tmp_path / 'app.db'}"


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_one_database_shared_across_threads(
    app: erlen.Erlen, uri: str, disposer: Disposer
) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    db = SQLAlchemy(app)
    disposer(db, app)
    with app.app_context():
        assert isinstance(db.engine.pool, StaticPool)
        with db.engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))

    seen: list[int] = []

    def read() -> None:
        with app.app_context():
            with db.engine.connect() as connection:
                seen.append(connection.execute(sa.text("SELECT x FROM t")).scalar_one())

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [1]


def test_engine_options_from_constructor_config_and_echo(
    app: erlen.Erlen, disposer: Disposer
) -> None:
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://",
        SQLALCHEMY_ENGINE_OPTIONS={"execution_options": {"isolation_level": "SERIALIZABLE"}},
        SQLALCHEMY_ECHO=True,
    )
    db = SQLAlchemy(
        app,
        engine_options={
            "execution_options": {"isolation_level": "AUTOCOMMIT"},
            "pool_reset_on_return": None,
        },
    )
    disposer(db, app)
    with app.app_context():
        engine = db.engine
        # The app's config wins over the constructor's defaults.
        assert engine.get_execution_options()["isolation_level"] == "SERIALIZABLE"
        assert engine.pool._reset_on_return is sa.pool.base.reset_none
        assert engine.echo is True


def test_init_app_twice_on_one_app_is_refused(app: erlen.Erlen) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    SQLAlchemy(app)
    with pytest.raises(RuntimeError, match="already been registered"):
        SQLAlchemy(app)


def test_one_extension_serves_several_apps(tmp_path: Path) -> None:
    db = SQLAlchemy()
    apps = []
    for name in ("one", "two"):
        app = erlen.Erlen(name)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / name}.db"
        db.init_app(app)
        apps.append(app)
    for app, name in zip(apps, ("one", "two"), strict=True):
        with app.app_context():
            assert db.engine.url.database == str(tmp_path / f"{name}.db")


def test_engine_outside_an_app_context_explains_the_fix() -> None:
    db = SQLAlchemy()
    with pytest.raises(RuntimeError, match=r"app\.app_context\(\)"):
        db.engine  # noqa: B018


def test_engine_of_an_app_without_init_app_is_a_clear_error(app: erlen.Erlen) -> None:
    db = SQLAlchemy()
    with app.app_context():
        with pytest.raises(RuntimeError, match="forget to call 'init_app'"):
            db.engine  # noqa: B018


def test_shell_context_has_db_and_the_models(app: erlen.Erlen, db: SQLAlchemy) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    with app.app_context():
        context = app.make_shell_context()
    assert context["db"] is db
    assert context["Author"] is db.models.Author
    assert context["Post"] is db.models.Post


def test_sqlalchemy_names_are_available_on_db_like_flask_sqlalchemy() -> None:
    db = SQLAlchemy()
    assert db.select is sa.select
    assert db.String is sa.String
    # Wrapped, so that lazy="dynamic" relationships give db.Query.
    assert isinstance(db.relationship("Author"), sa.orm.Relationship)
    with pytest.raises(AttributeError, match="no_such_thing"):
        db.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError):
        db._private  # noqa: B018


def test_repr_shows_the_current_app_database(app: erlen.Erlen) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)
    assert repr(db) == "<SQLAlchemy>"
    with app.app_context():
        assert repr(db) == "<SQLAlchemy sqlite://>"
