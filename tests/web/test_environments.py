"""web.environments: the class per environment, and the sources layered over it in order."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from erlen import Erlen

from web.config import ConfigError
from web.config import UnsafeSettings
from web.environments import configure
from web.environments import Development
from web.environments import environment_class
from web.environments import Production
from web.environments import Testing

SERVICES = {
    "SECRET_KEY": secrets.token_urlsafe(32),
    "DATABASE_URL": "postgresql+psycopg://erlen@db/erlen",
    "REDIS_URL": "redis://redis:6379/0",
    "BROKER_URL": "redis://redis:6379/1",
}


def _app(tmp_path: Path) -> Erlen:
    return Erlen("web", instance_path=str(tmp_path / "instance"))


def _write_instance_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.py").write_text(text)


@pytest.mark.parametrize(
    ("env", "cls"),
    [
        (SERVICES, Production),  # real services: production unless told otherwise
        (SERVICES | {"ERLEN_ENV": "development"}, Development),  # make up-dev
        (SERVICES | {"ERLEN_ENV": "testing"}, Testing),
        ({}, Development),  # make dev: embedded is never production...
        ({"ERLEN_ENV": "production"}, Development),  # ...even when .env says production
        ({"ERLEN_ENV": "testing"}, Testing),  # the fast test tier
    ],
)
def test_the_environment_picks_the_class(env: dict[str, str], cls: type) -> None:
    assert environment_class(env) is cls


def test_each_class_sets_what_differs(tmp_path: Path) -> None:
    production, development, testing = _app(tmp_path), _app(tmp_path), _app(tmp_path)
    configure(production, SERVICES)
    configure(development, {})
    configure(testing, {"ERLEN_ENV": "testing"})

    assert (production.config["ENVIRONMENT"], production.config["LOG_FORMAT"]) == (
        "production",
        "json",
    )
    assert production.config["TEMPLATES_AUTO_RELOAD"] is False
    assert (development.config["ENVIRONMENT"], development.config["LOG_FORMAT"]) == (
        "development",
        "text",
    )
    assert development.config["TEMPLATES_AUTO_RELOAD"] is True
    assert testing.config["TESTING"] is True and production.config["TESTING"] is False
    # What every environment shares comes from the base class.
    assert production.config["MAX_CONTENT_LENGTH"] == development.config["MAX_CONTENT_LENGTH"]
    assert "purge-expired" in testing.config["JOBS_SCHEDULE"]


def test_a_variable_wins_over_the_class(tmp_path: Path) -> None:
    app = _app(tmp_path)
    configure(app, SERVICES | {"LOG_FORMAT": "text"})
    assert app.config["LOG_FORMAT"] == "text"


def test_the_instance_folder_config_wins_over_the_variables(tmp_path: Path) -> None:
    _write_instance_config(tmp_path, 'MAIL_FROM = "rooms <rooms@example.org>"\nROOM_X = 3\n')
    app = _app(tmp_path)

    configure(app, SERVICES | {"MAIL_FROM": "env <env@example.org>"})

    assert app.config["MAIL_FROM"] == "rooms <rooms@example.org>"
    assert app.config["ROOM_X"] == 3


def test_prefixed_variables_set_any_key_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_instance_config(tmp_path, "PERMANENT_SESSION_LIFETIME = 60\n")
    for name, value in SERVICES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ERLEN_PERMANENT_SESSION_LIFETIME", "3600")
    monkeypatch.setenv("ERLEN_SQLALCHEMY_ENGINE_OPTIONS__pool_size", "7")
    monkeypatch.setenv("ERLEN_MAIL_FROM", "plain text, not JSON")
    app = _app(tmp_path)

    configure(app, os.environ)

    assert app.config["PERMANENT_SESSION_LIFETIME"] == 3600  # over instance/config.py
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 7
    assert app.config["MAIL_FROM"] == "plain text, not JSON"


def test_an_environment_passed_in_ignores_the_shells_prefixed_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERLEN_MAIL_FROM", "from the shell")
    app = _app(tmp_path)
    configure(app, SERVICES)
    assert app.config["MAIL_FROM"] != "from the shell"


def test_overrides_win_over_everything(tmp_path: Path) -> None:
    _write_instance_config(tmp_path, "MAIL_FROM = 'instance'\n")
    app = _app(tmp_path)
    configure(app, SERVICES, {"MAIL_FROM": "override"})
    assert app.config["MAIL_FROM"] == "override"


def test_production_judges_the_result_not_just_the_variables(tmp_path: Path) -> None:
    # A weak key and debug mode slipped in through instance/config.py: both refused at once.
    _write_instance_config(tmp_path, "DEBUG = True\nSECRET_KEY = 'short'\n")
    app = _app(tmp_path)

    with pytest.raises(UnsafeSettings) as error:
        configure(app, SERVICES)

    assert [p.name for p in error.value.problems] == ["DEBUG", "SECRET_KEY"]
    assert "'short'" not in str(error.value)  # a key is never quoted into a log


def test_a_development_stack_may_take_debug_from_the_instance_folder(tmp_path: Path) -> None:
    _write_instance_config(tmp_path, "DEBUG = True\n")
    app = _app(tmp_path)
    configure(app, SERVICES | {"ERLEN_ENV": "development"})
    assert app.debug is True


def test_a_bad_environment_name_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        configure(_app(tmp_path), SERVICES | {"ERLEN_ENV": "prod"})
    assert error.value.name == "ERLEN_ENV" and "'prod'" in str(error.value)
