"""``erlen db ...``: the migration commands, through the app's CLI runner, on both databases."""

from __future__ import annotations

import subprocess
import sys
import typing as t
from pathlib import Path

import click.testing
import pytest

import erlen
from erlen.ext.migrate import Migrate
from erlen.ext.migrate import migrations_at_head
from erlen.ext.sqlalchemy import SQLAlchemy

MakeApp = t.Callable[..., erlen.Erlen]
PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"


def run(app: erlen.Erlen, *args: str, ok: bool = True) -> click.testing.Result:
    """Run ``erlen db ARGS`` for the app; check the exit status."""
    result = app.test_cli_runner().invoke(args=["db", *args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
        # A clean CLI error, not a traceback.
        assert isinstance(result.exception, SystemExit), result.exception
    return result


def revision_files(migrations_dir: Path) -> list[Path]:
    return sorted((migrations_dir / "versions").glob("*.py"))


def test_init_revision_upgrade_downgrade_round_trip(
    make_app: MakeApp, migrations_dir: Path, schema: t.Any
) -> None:
    app = make_app()
    run(app, "init")
    assert {p.name for p in migrations_dir.iterdir()} >= {"env.py", "script.py.mako", "versions"}

    run(app, "revision", "--autogenerate", "-m", "create users")
    (script,) = revision_files(migrations_dir)
    text = script.read_text()
    assert "op.create_table(" in text
    assert '"user"' in text
    rev = script.name.split("_")[0]
    assert "user" not in schema.tables(app)  # writing a revision creates no tables

    run(app, "upgrade")
    assert schema.tables(app) == {"alembic_version", "user"}
    assert run(app, "current").output.strip() == f"{rev} (head)"

    run(app, "downgrade")
    assert schema.tables(app) == {"alembic_version"}
    assert run(app, "current").output.strip() == ""

    run(app, "upgrade")
    assert schema.tables(app) == {"alembic_version", "user"}
    assert f"{rev} (head)" in run(app, "heads").output
    assert f"<base> -> {rev} (head), create users" in run(app, "history").output
    assert migrations_at_head(app)


def test_second_revision_upgrades_and_downgrades_one_step(
    make_app: MakeApp, migrations_dir: Path, schema: t.Any
) -> None:
    v1 = make_app(1)
    run(v1, "init")
    run(v1, "revision", "--autogenerate", "-m", "users")
    run(v1, "upgrade")

    v2 = make_app(2)
    run(v2, "migrate", "-m", "emails and posts")
    assert len(revision_files(migrations_dir)) == 2
    run(v2, "upgrade")
    assert schema.tables(v2) == {"alembic_version", "user", "post"}
    assert "email" in schema.columns(v2, "user")

    run(v2, "downgrade", "-1")
    assert schema.tables(v2) == {"alembic_version", "user"}
    assert "email" not in schema.columns(v2, "user")
    run(v2, "upgrade", "head")
    assert "email" in schema.columns(v2, "user")


def test_check_fails_on_drift_and_passes_when_in_sync(
    make_app: MakeApp, migrations_dir: Path
) -> None:
    v1 = make_app(1)
    run(v1, "init")
    # No migrations yet, but a model: that's drift.
    result = run(v1, "check", ok=False)
    assert "out of sync" in result.output
    assert "add table user" in result.output

    run(v1, "revision", "--autogenerate", "-m", "users")
    run(v1, "upgrade")
    assert "in sync" in run(v1, "check").output

    v2 = make_app(2)
    result = run(v2, "check", ok=False)
    assert "2 change(s)" in result.output
    assert "add table post" in result.output
    assert "add column user.email" in result.output
    assert "erlen db revision --autogenerate" in result.output

    run(v2, "revision", "--autogenerate", "-m", "emails and posts")
    run(v2, "upgrade")
    run(v2, "check")


def test_check_on_a_database_behind_head_says_to_upgrade(make_app: MakeApp) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "--autogenerate", "-m", "users")
    result = run(app, "check", ok=False)
    assert "Run 'erlen db upgrade' first." in result.output


def test_autogenerate_without_changes_writes_no_revision(
    make_app: MakeApp, migrations_dir: Path
) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "--autogenerate", "-m", "users")
    run(app, "upgrade")
    result = run(app, "revision", "--autogenerate", "-m", "nothing")
    assert "No changes in schema detected" in result.output
    assert len(revision_files(migrations_dir)) == 1


def test_empty_revision_without_autogenerate_is_written(
    make_app: MakeApp, migrations_dir: Path
) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "-m", "data fix", "--rev-id", "datafix1")
    (script,) = revision_files(migrations_dir)
    assert script.name == "datafix1_data_fix.py"
    text = script.read_text()
    assert 'revision: str = "datafix1"' in text
    assert "def upgrade() -> None:" in text


def test_new_revisions_pass_the_projects_lint_and_format_checks(
    make_app: MakeApp, migrations_dir: Path
) -> None:
    v1 = make_app(1)
    run(v1, "init")
    run(v1, "revision", "--autogenerate", "-m", "users")
    run(v1, "upgrade")
    run(make_app(2), "revision", "--autogenerate", "-m", "emails and posts")
    run(v1, "revision", "-m", "by hand")
    ruff = Path(sys.executable).with_name("ruff")
    for args in (["check"], ["format", "--check"]):
        checked = subprocess.run(
            [str(ruff), *args, "--config", str(PYPROJECT), str(migrations_dir / "versions")],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_init_refuses_a_directory_that_is_not_empty(make_app: MakeApp) -> None:
    app = make_app()
    run(app, "init")
    result = run(app, "init", ok=False)
    assert "already exists and is not empty" in result.output


def test_init_into_another_directory(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    other = tmp_path / "elsewhere"
    run(app, "init", "-d", str(other))
    run(app, "revision", "-m", "first", "-d", str(other))
    assert len(revision_files(other)) == 1


def test_stamp_records_a_revision_without_running_it(make_app: MakeApp, schema: t.Any) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "--autogenerate", "-m", "users")
    db: SQLAlchemy = app.extensions["sqlalchemy"]
    with app.app_context():
        db.create_all()  # a database made before migrations existed
    run(app, "stamp", "head")
    assert migrations_at_head(app)
    assert "(head)" in run(app, "current").output
    run(app, "check")


def test_upgrade_sql_prints_the_sql_and_changes_nothing(make_app: MakeApp, schema: t.Any) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "--autogenerate", "-m", "users")
    output = run(app, "upgrade", "--sql").output
    assert "CREATE TABLE" in output
    assert "user" in output
    assert "user" not in schema.tables(app)


def test_unknown_revision_is_a_clean_error(make_app: MakeApp) -> None:
    app = make_app()
    run(app, "init")
    result = run(app, "upgrade", "nosuchrev", ok=False)
    assert "Error:" in result.output
    assert "nosuchrev" in result.output


def test_commands_without_a_migrations_directory_fail_cleanly(make_app: MakeApp) -> None:
    app = make_app()
    result = run(app, "upgrade", ok=False)
    assert "Error:" in result.output


def test_merge_joins_two_heads(make_app: MakeApp, migrations_dir: Path) -> None:
    app = make_app()
    run(app, "init")
    for rev in ("aaaa", "bbbb"):
        (migrations_dir / "versions" / f"{rev}_branch.py").write_text(
            f"revision = {rev!r}\ndown_revision = None\nbranch_labels = None\n"
            "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        )
    heads = run(app, "heads").output
    assert "aaaa" in heads and "bbbb" in heads
    run(app, "merge", "-m", "join", "--rev-id", "cccc", "heads")
    assert run(app, "heads").output.strip() == "cccc (head)"
    run(app, "upgrade")
    assert migrations_at_head(app)


def test_show_describes_a_revision(make_app: MakeApp) -> None:
    app = make_app()
    run(app, "init")
    run(app, "revision", "-m", "first", "--rev-id", "abc123")
    assert "Rev: abc123 (head)" in run(app, "show", "abc123").output


def test_command_group_name_is_configurable(tmp_path: Path) -> None:
    db = SQLAlchemy()
    app = erlen.Erlen("renamed", root_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    Migrate(app, db, command="database")
    result = app.test_cli_runner().invoke(args=["database", "init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "migrations" / "env.py").is_file()


@pytest.mark.parametrize("directory", ["migrations", "db/migrations"])
def test_relative_directory_is_under_the_app_root_path(tmp_path: Path, directory: str) -> None:
    db = SQLAlchemy()
    app = erlen.Erlen("rooted", root_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    Migrate(app, db, directory=directory)
    assert app.extensions["migrate"].directory == str(tmp_path / directory)


def test_migrate_uses_the_apps_database_extension_when_not_given(tmp_path: Path) -> None:
    db = SQLAlchemy()
    app = erlen.Erlen("implicit", root_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    Migrate().init_app(app)
    assert app.extensions["migrate"].db is db


def test_migrate_without_a_database_extension_is_a_clear_error(app: erlen.Erlen) -> None:
    with pytest.raises(RuntimeError, match="needs the app's 'SQLAlchemy' extension"):
        Migrate(app)
