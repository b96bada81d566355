"""web.config: the environment read once at start-up; a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.config import ConfigError
from web.config import from_env

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
