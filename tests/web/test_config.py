"""web.config: the environment read once at start-up; a bad value names its variable."""

from __future__ import annotations

import importlib.util
import json
import logging
import secrets
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from web.config import ConfigError
from web.config import from_env
from web.config import SECRET_KEY_MIN
from web.config import secret_key_weaknesses
from web.config import UnsafeSettings
from web.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def _load_make_env() -> t.Any:
    spec = importlib.util.spec_from_file_location("make_env", ROOT / "scripts" / "make_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_env = _load_make_env()

SERVICES = {
    "SECRET_KEY": "x7Jq2mVb9LpZ4cRt8WnY3kHd6FsA1gEu",
    "DATABASE_URL": "postgresql+psycopg://erlen@db/erlen",
    "REDIS_URL": "redis://redis:6379/0",
    "BROKER_URL": "redis://redis:6379/1",
}


def test_trusted_proxies_are_off_by_default(tmp_path: Path) -> None:
    config = from_env(str(tmp_path), SERVICES)

    assert config["TRUSTED_PROXIES"] is None
    assert config["TRUSTED_PROXY_HOPS"] == 1


def test_trusted_proxies_are_read_as_a_list(tmp_path: Path) -> None:
    env = SERVICES | {"TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1", "TRUSTED_PROXY_HOPS": "2"}

    config = from_env(str(tmp_path), env)

    assert config["TRUSTED_PROXIES"] == ["10.0.0.0/8", "127.0.0.1"]
    assert config["TRUSTED_PROXY_HOPS"] == 2


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TRUSTED_PROXIES": "nginx"},
            "TRUSTED_PROXIES: 'nginx' is not an IP address or network",
        ),
        ({"TRUSTED_PROXIES": "10.0.0.0/8", "TRUSTED_PROXY_HOPS": "0"}, "TRUSTED_PROXY_HOPS: must"),
        ({"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS: must be a whole number, got 'one'."),
    ],
)
def test_bad_proxy_settings_fail_naming_the_variable(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        from_env(str(tmp_path), SERVICES | env)

    assert str(error.value).startswith(message)


# -- production refuses unsafe settings, every one at once ------------------------------------


def test_production_refuses_debug_and_a_weak_key_listing_every_one(tmp_path: Path) -> None:
    env = SERVICES | {"SECRET_KEY": "changemechangeme", "ERLEN_DEBUG": "1", "FLASK_DEBUG": "true"}

    with pytest.raises(UnsafeSettings) as error:
        from_env(str(tmp_path), env)

    lines = str(error.value).splitlines()
    assert lines[0] == "2 missing or unsafe settings for production:"
    assert lines[1].startswith(
        "  ERLEN_DEBUG: debug mode is on (ERLEN_DEBUG='1', FLASK_DEBUG='true'): it can hand"
    )
    assert lines[2].startswith(
        "  SECRET_KEY: is 16 characters long (production needs at least 32);"
        " looks made up (it holds the word 'changeme'); is a shorter string repeated."
    )
    assert "ERLEN_ENV=development" in lines[3]
    assert "changemechangeme" not in str(error.value)  # a key is never quoted
    assert error.value.name == "ERLEN_DEBUG, SECRET_KEY"
    assert isinstance(error.value, ConfigError)  # the entry points report it as one


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "is not set"),
        ("generate", "is a published value"),  # .env.example's placeholder
        ("dev-only-secret-key-not-for-production", "is a published value"),  # k8s dev overlay
        ("x7Jq2mVb9LpZ4cRt8WnY3kHd6FsA1gE", "is 31 characters long"),
        ("my-super-secret-session-key-for-production", "holds the word 'secret'"),
        ("PlaceHolder-Xy7Zq2Lm9Vb4Kc8Nw3Ra", "holds the word 'placeholder'"),
        ("x7Jq2mVb" * 5, "is a shorter string repeated"),
        ("ab" * 15 + "abc" * 4, "too little entropy (only 3 different characters)"),
    ],
    ids=["unset", "env-example", "k8s-dev", "short", "word", "placeholder", "repeated", "narrow"],
)
def test_production_refuses_a_weak_secret_key(tmp_path: Path, key: str, why: str) -> None:
    with pytest.raises(UnsafeSettings) as error:
        from_env(str(tmp_path), SERVICES | {"SECRET_KEY": key})

    assert error.value.name == "SECRET_KEY"
    assert why in str(error.value)


def test_production_lists_services_left_at_their_embedded_defaults(tmp_path: Path) -> None:
    env = {"SECRET_KEY": SERVICES["SECRET_KEY"], "BROKER_URL": "redis://redis:6379/1"}

    with pytest.raises(UnsafeSettings) as error:
        from_env(str(tmp_path), env)

    assert [p.name for p in error.value.problems] == ["DATABASE_URL", "REDIS_URL"]
    assert "REDIS_URL: is not set (in memory): live events would never leave" in str(error.value)


def test_flask_debug_alone_is_refused_under_its_own_name(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSettings) as error:
        from_env(str(tmp_path), SERVICES | {"FLASK_DEBUG": "yes"})

    assert error.value.name == "FLASK_DEBUG"
    assert "debug mode is on (FLASK_DEBUG='yes')" in str(error.value)


@pytest.mark.parametrize("debug", ["0", "false", "No", ""])
def test_debug_off_in_any_spelling_is_accepted(tmp_path: Path, debug: str) -> None:
    config = from_env(str(tmp_path), SERVICES | {"ERLEN_DEBUG": debug, "FLASK_DEBUG": debug})
    assert config["SECRET_KEY"] == SERVICES["SECRET_KEY"]


def test_keys_make_up_generates_always_pass() -> None:
    example = (ROOT / ".env.example").read_text()
    for _ in range(2000):
        env = dict(
            line.split("=", 1) for line in make_env.render(example).splitlines() if "=" in line
        )
        assert secret_key_weaknesses(env["SECRET_KEY"]) == []


def test_make_up_adds_new_secrets_to_an_existing_env_and_changes_nothing_else(
    tmp_path: Path,
) -> None:
    example, out = tmp_path / ".env.example", tmp_path / ".env"
    example.write_text("# a comment\nSECRET_KEY=generate\nLOG_LEVEL=info\nNEW_SECRET=generate\n")
    out.write_text("SECRET_KEY=kept-as-it-was\nLOG_LEVEL=debug")  # no final newline

    assert make_env.main(["--example", str(example), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[:2] == ["SECRET_KEY=kept-as-it-was", "LOG_LEVEL=debug"]
    assert len(lines) == 3 and lines[2].startswith("NEW_SECRET=")
    assert len(lines[2]) > len("NEW_SECRET=") + 30

    before = out.read_text()
    assert make_env.main(["--example", str(example), "--out", str(out)]) == 0
    assert out.read_text() == before  # nothing missing: untouched


def test_common_random_keys_pass() -> None:
    for _ in range(2000):
        for key in (secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(24)):
            assert secret_key_weaknesses(key) == [], key


def test_a_development_stack_allows_debug_and_a_weak_key_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "dev-only-secret-key-not-for-production"
    env = SERVICES | {"ERLEN_ENV": "development", "ERLEN_DEBUG": "1", "SECRET_KEY": key}

    config = from_env(str(tmp_path), env)

    assert config["SECRET_KEY"] == key
    assert "ERLEN_ENV=development: allowing ERLEN_DEBUG, SECRET_KEY" in caplog.text


def test_a_development_stack_still_needs_a_key(tmp_path: Path) -> None:
    env = SERVICES | {"ERLEN_ENV": "development"}
    del env["SECRET_KEY"]

    with pytest.raises(ConfigError, match="SECRET_KEY: is not set"):
        from_env(str(tmp_path), env)


def test_erlen_env_is_production_development_or_testing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ERLEN_ENV: must be production, development or testing"):
        from_env(str(tmp_path), SERVICES | {"ERLEN_ENV": "staging"})


def test_embedded_mode_keeps_debug_and_needs_no_key(tmp_path: Path) -> None:
    # make dev: no services, the dev server's debugger on purpose, a key made in instance/.
    config = from_env(str(tmp_path), {"ERLEN_DEBUG": "1"})
    assert len(config["SECRET_KEY"]) >= SECRET_KEY_MIN
    assert config["EMBEDDED"] is True


def test_the_stacks_that_start_with_real_services_are_configured_to_start() -> None:
    # make up-dev turns debug on, so it must say it is a development stack; compose passes
    # ERLEN_ENV through; the k8s dev overlay's committed key needs the same allowance.
    dev = yaml.safe_load((ROOT / "docker-compose.dev.yml").read_text())
    web = dev["services"]["web"]["environment"]
    assert web["ERLEN_DEBUG"] == "1" and web["ERLEN_ENV"] == "development"
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "ERLEN_ENV: ${ERLEN_ENV:-production}" in compose
    overlay = (ROOT / "deploy/k8s/overlays/dev/config.env").read_text().splitlines()
    assert "ERLEN_ENV=development" in overlay
    base = (ROOT / "deploy/k8s/base/config.env").read_text().splitlines()
    assert "ERLEN_ENV=production" in base


def test_without_a_mail_server_mail_goes_to_the_log(tmp_path: Path) -> None:
    config = from_env(str(tmp_path), SERVICES)
    assert (config["MAIL_BACKEND"], config["MAIL_SERVER"]) == ("console", None)


@pytest.mark.parametrize(
    ("env", "port"),
    [
        ({}, 25),
        ({"MAIL_USE_TLS": "true"}, 587),
        ({"MAIL_USE_SSL": "true"}, 465),
        ({"MAIL_PORT": "2525"}, 2525),
    ],
)
def test_mail_settings_pick_smtp_and_a_port(tmp_path: Path, env: dict[str, str], port: int) -> None:
    config = from_env(str(tmp_path), SERVICES | {"MAIL_SERVER": "smtp.example.com"} | env)
    assert (config["MAIL_BACKEND"], config["MAIL_SERVER"]) == ("smtp", "smtp.example.com")
    assert config["MAIL_PORT"] == port


@pytest.mark.parametrize(
    ("env", "name", "fragment"),
    [
        ({"MAIL_USE_TLS": "true", "MAIL_USE_SSL": "true"}, "MAIL_USE_TLS", "pick one"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT", "'smtp'"),
        ({"MAIL_PORT": "70000"}, "MAIL_PORT", "'70000'"),
    ],
)
def test_bad_mail_settings_fail_naming_the_variable(
    tmp_path: Path, env: dict[str, str], name: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as error:
        from_env(str(tmp_path), SERVICES | {"MAIL_SERVER": "smtp.example.com"} | env)
    assert error.value.name == name and fragment in str(error.value)


def test_a_log_format_that_is_set_is_checked(tmp_path: Path) -> None:
    # Unset, the environment's class decides (tests/web/test_environments.py).
    assert "LOG_FORMAT" not in from_env(str(tmp_path), SERVICES)
    assert from_env(str(tmp_path), SERVICES | {"LOG_FORMAT": "Text"})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError) as error:
        from_env(str(tmp_path), SERVICES | {"LOG_FORMAT": "xml"})
    assert error.value.name == "LOG_FORMAT"


def test_a_json_log_line_carries_the_request_id_and_the_traceback() -> None:
    record = logging.LogRecord("web.test", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    record.request_id = "rid-12345678"
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "web.test", "boom x")
    assert line["request_id"] == "rid-12345678"
    assert "ValueError: bad" in line["exc"] and line["time"].endswith("+00:00")
