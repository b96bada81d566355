"""The start-up the three services share: their arguments, and configuration errors."""

from __future__ import annotations

import typing as t

import pytest

import realtime.__main__
import web.dev
from web.config import ConfigError
from web.entrypoint import Address
from web.entrypoint import argument_parser
from web.entrypoint import CONFIG_ERROR
from web.entrypoint import run

ADDRESS = Address("127.0.0.1", 8001, host_env="SVC_HOST", port_env="SVC_PORT")


def test_host_and_port_come_from_the_environment_unless_given() -> None:
    env = {"SVC_HOST": "0.0.0.0", "SVC_PORT": "9001"}
    parser = argument_parser("svc", None, address=ADDRESS, env=env)
    args = parser.parse_args([])
    assert (args.host, args.port, args.reload) == ("0.0.0.0", 9001, False)
    args = parser.parse_args(["--host", "::1", "--port", "9002", "--reload"])
    assert (args.host, args.port, args.reload) == ("::1", 9002, True)


def test_without_environment_the_address_defaults_apply() -> None:
    args = argument_parser("svc", None, address=ADDRESS, env={}).parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8001)


def test_reload_can_default_on_and_be_turned_off() -> None:
    parser = argument_parser("svc", None, reload=True, env={})
    assert parser.parse_args([]).reload is True
    assert parser.parse_args(["--no-reload"]).reload is False


@pytest.mark.parametrize("value", ["x", "-1", "65536"])
def test_a_bad_port_in_the_environment_is_refused_naming_the_variable(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        argument_parser("svc", None, address=ADDRESS, env={"SVC_PORT": value})
    assert exit_info.value.code == 2
    assert "SVC_PORT must be" in capsys.readouterr().err


@pytest.mark.parametrize(
    "main", [realtime.__main__.main, web.dev.main], ids=["realtime", "web.dev"]
)
@pytest.mark.parametrize("port", ["70000", "http"])
def test_every_listening_entry_point_refuses_a_bad_port_the_same_way(
    main: t.Callable[[list[str]], int], port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", port])
    assert exit_info.value.code == 2
    assert "argument --port: must be" in capsys.readouterr().err


def test_run_reports_a_configuration_error_as_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def serve() -> int:
        raise ConfigError("SECRET_KEY", "is not set.")

    assert run(serve) == CONFIG_ERROR
    captured = capsys.readouterr()
    assert captured.err == "error: SECRET_KEY: is not set.\n"
    assert captured.out == ""


def test_run_returns_what_the_service_returns() -> None:
    assert run(lambda: 0) == 0
    assert run(lambda: 3) == 3


def test_run_lets_other_errors_through_with_their_traceback() -> None:
    def serve() -> int:
        raise RuntimeError("a bug, not a setting")

    with pytest.raises(RuntimeError):
        run(serve)
