"""Migrations from code: ``upgrade(app)``, ``migrations_at_head(app)``, and Postgres locking."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import typing as t
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.util import CommandError

import erlen
from erlen.ext import migrate
from erlen.ext.migrate.environment import advisory_lock_key
from erlen.ext.sqlalchemy import SQLAlchemy

MakeApp = t.Callable[..., erlen.Erlen]


def test_upgrade_current_and_at_head(make_app: MakeApp, schema: t.Any) -> None:
    app = make_app()
    migrate.init(app)
    (path,) = migrate.revision(app, "users", autogenerate=True)
    rev = os.path.basename(path).split("_")[0]

    assert migrate.head_revisions(app) == (rev,)
    assert migrate.current_revisions(app) == ()
    assert not migrate.migrations_at_head(app)

    migrate.upgrade(app)
    assert migrate.current_revisions(app) == (rev,)
    assert migrate.migrations_at_head(app)
    assert "user" in schema.tables(app)

    migrate.downgrade(app, "base")
    assert migrate.current_revisions(app) == ()
    assert "user" not in schema.tables(app)


def test_a_new_revision_puts_the_database_behind_head(make_app: MakeApp) -> None:
    v1 = make_app(1)
    migrate.init(v1)
    migrate.revision(v1, "users", autogenerate=True)
    migrate.upgrade(v1)
    assert migrate.migrations_at_head(v1)

    v2 = make_app(2)
    migrate.revision(v2, "posts", autogenerate=True)
    assert not migrate.migrations_at_head(v2)
    migrate.upgrade(v2)
    assert migrate.migrations_at_head(v2)


def test_at_head_in_a_readiness_view(make_app: MakeApp) -> None:
    app = make_app()
    migrate.init(app)
    migrate.revision(app, "users", autogenerate=True)

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, bool], int]:
        # As web's /readyz does it: with the current_app proxy.
        ready = migrate.migrations_at_head(erlen.current_app)
        return {"migrations": ready}, 200 if ready else 503

    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    migrate.upgrade(app)
    assert client.get("/readyz").json == {"migrations": True}


def test_functions_accept_the_current_app_proxy(make_app: MakeApp) -> None:
    app = make_app()
    migrate.init(app)
    migrate.revision(app, "users", autogenerate=True)
    with app.app_context():
        migrate.upgrade(erlen.current_app)
        assert migrate.current_revisions(erlen.current_app) == migrate.head_revisions(app)
        db: SQLAlchemy = app.extensions["sqlalchemy"]
        assert db.engines_for(erlen.current_app) is db.engines_for(app)


def test_functions_work_inside_another_apps_context(make_app: MakeApp) -> None:
    app = make_app()
    migrate.init(app)
    migrate.revision(app, "users", autogenerate=True)
    other = erlen.Erlen("other")
    with other.app_context():
        migrate.upgrade(app)
    assert migrate.migrations_at_head(app)


def test_check_raises_schema_drift_with_the_differences(make_app: MakeApp) -> None:
    v1 = make_app(1)
    migrate.init(v1)
    migrate.revision(v1, "users", autogenerate=True)
    migrate.upgrade(v1)
    migrate.check(v1)

    v2 = make_app(2)
    with pytest.raises(migrate.SchemaDriftError) as info:
        migrate.check(v2)
    assert len(info.value.diffs) == 2
    assert isinstance(info.value, CommandError)


def test_without_migrate_the_error_says_how_to_set_it_up(app: erlen.Erlen) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    SQLAlchemy(app)
    with pytest.raises(RuntimeError, match=r"Migrate\(app, db\)"):
        migrate.migrations_at_head(app)


def test_missing_migrations_directory_is_a_command_error(make_app: MakeApp) -> None:
    app = make_app()
    with pytest.raises(CommandError):
        migrate.migrations_at_head(app)


def test_version_table_options_are_honoured(make_app: MakeApp, schema: t.Any) -> None:
    app = make_app(version_table="schema_version")
    migrate.init(app)
    migrate.revision(app, "users", autogenerate=True)
    migrate.upgrade(app)
    assert "schema_version" in schema.tables(app)
    assert "alembic_version" not in schema.tables(app)
    assert migrate.migrations_at_head(app)


def test_advisory_lock_key_is_a_stable_signed_64_bit_integer() -> None:
    key = advisory_lock_key(".alembic_version")
    assert key == advisory_lock_key(".alembic_version")
    assert key != advisory_lock_key(".other_version")
    assert -(2**63) <= key < 2**63


# -- Postgres: concurrent runs ---------------------------------------------------------------


def _psycopg_conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_upgrade_waits_for_the_migration_lock_on_postgres(
    make_pg_app: MakeApp, postgres_url: str, schema: t.Any
) -> None:
    app = make_pg_app()
    migrate.init(app)
    migrate.revision(app, "users", autogenerate=True)

    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            migrate.upgrade(app)
        except BaseException as e:
            errors.append(e)

    key = advisory_lock_key(".alembic_version")
    with psycopg.connect(_psycopg_conninfo(postgres_url)) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        thread = threading.Thread(target=upgrade)
        thread.start()
        time.sleep(1.0)
        # Still queued behind the lock: nothing migrated yet.
        assert thread.is_alive()
        assert "user" not in schema.tables(app)
        holder.rollback()  # ends the transaction, releasing the lock
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors == []
    assert "user" in schema.tables(app)
    assert migrate.migrations_at_head(app)


_STACK_APP = """\
from sqlalchemy.orm import Mapped, mapped_column

from erlen import Erlen
from erlen.ext.migrate import Migrate
from erlen.ext.sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Item(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)


def create_app():
    app = Erlen(__name__)
    db.init_app(app)  # DATABASE_URL from the environment
    Migrate(app, db)  # ./migrations, next to this file
    return app
"""

# Slow on purpose, so that the runs overlap: without the lock, two of them create the same
# tables at the same time and one fails.
_SLOW_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("item", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("SELECT pg_sleep(1)")


def downgrade():
    op.drop_table("item")
"""


def _erlen(tmp_path: Path, database_url: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ERLEN_APP", "FLASK_APP")}
    env.update(DATABASE_URL=database_url, ERLEN_SKIP_DOTENV="1")
    return subprocess.Popen(
        [sys.executable, "-m", "erlen", "--app", "stackapp:create_app", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.timeout(180)  # several interpreters start at once; slow on a busy machine
def test_concurrent_upgrades_from_the_command_line_do_not_race(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "stackapp.py").write_text(_STACK_APP)
    init = _erlen(tmp_path, postgres_url, "db", "init")
    output = init.communicate(timeout=30)[0]
    assert init.returncode == 0, output
    (tmp_path / "migrations" / "versions" / "0001_items.py").write_text(
        textwrap.dedent(_SLOW_REVISION)
    )

    runs = [_erlen(tmp_path, postgres_url, "db", "upgrade") for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], "\n---\n".join(outputs)
    # Exactly one run did the work; the others found the database at head.
    assert sum("Running upgrade" in output for output in outputs) == 1, outputs

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert versions.scalars().all() == ["0001"]
            assert "item" in sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()

    current = _erlen(tmp_path, postgres_url, "db", "current")
    assert "0001 (head)" in current.communicate(timeout=30)[0]


def test_a_database_migrated_by_a_newer_release_is_ahead_not_behind(
    make_app: MakeApp, migrations_dir: Path, tmp_path: Path
) -> None:
    # A rolling deploy: the new release migrates, and replicas of the old one (whose
    # migrations directory lacks the new revision) must stay ready meanwhile.
    v1 = make_app(1)
    migrate.init(v1)
    migrate.revision(v1, "users", autogenerate=True)
    migrate.upgrade(v1)
    assert migrate.migration_state(v1) == "at head"
    old_release = tmp_path / "old-release-migrations"
    shutil.copytree(migrations_dir, old_release)

    v2 = make_app(2)
    migrate.revision(v2, "posts", autogenerate=True)
    assert migrate.migration_state(v2) == "behind"
    migrate.upgrade(v2)
    assert migrate.migration_state(v2) == "at head"

    old = make_app(1, directory=str(old_release))
    assert not migrate.migrations_at_head(old)
    assert migrate.migration_state(old) == "ahead"
