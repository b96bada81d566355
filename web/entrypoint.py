"""What the three service entry points share: ``python -m web.dev``, ``python -m realtime``
and ``python -m worker``.

- the same arguments, parsed the same way: ``--host``/``--port`` for a service that listens
  (defaults from its environment variables), ``--reload``/``--no-reload``;
- the app built one way, with logging set up once (:func:`load_app`);
- a configuration error reported as one line, without a traceback, and exit status 2
  (:func:`run`), so a misconfigured container says what is wrong and stops;
- reload on code changes through public APIs only: werkzeug's ``run_simple`` for the WSGI
  dev server, :mod:`web.reloader` for the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing as t

from erlen import Erlen

from .app import create_app
from .config import ConfigError
from .logs import configure_logging
from .reloader import is_reloader_child
from .reloader import loaded_source_files
from .reloader import run_with_reloader
from .reloader import this_command

#: The exit status of a configuration error (argparse uses 2 for bad arguments too).
CONFIG_ERROR = 2


@dataclasses.dataclass(frozen=True)
class Address:
    """Where a service listens unless told otherwise, and the variables that tell it."""

    host: str
    port: int
    host_env: str | None = None
    port_env: str | None = None


def port_number(text: str) -> int:
    """An ``argparse`` type: a TCP port, 0 to 65535 (0 picks a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}.") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {port}.")
    return port


def argument_parser(
    prog: str,
    description: str | None,
    *,
    address: Address | None = None,
    reload: bool = False,
    add_help: bool = True,
    env: t.Mapping[str, str] | None = None,
) -> argparse.ArgumentParser:
    """The parser every entry point starts from; add the service's own options to it.

    :param address: add ``--host`` and ``--port``, defaulting to ``address`` or to its
        environment variables.
    :param reload: the default of ``--reload``/``--no-reload``.
    :param add_help: ``False`` when another parser answers ``--help`` (the worker's).
    """
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog=prog, description=description, add_help=add_help)
    if address is not None:
        host = env.get(address.host_env, "") if address.host_env else ""
        port = env.get(address.port_env, "") if address.port_env else ""
        if port:
            try:
                port_number(port)
            except argparse.ArgumentTypeError as e:
                parser.error(f"{address.port_env} {e}")
        parser.add_argument(
            "--host",
            default=host or address.host,
            help=_default_help(address.host, address.host_env),
        )
        parser.add_argument(
            "--port",
            type=port_number,
            default=int(port or address.port),
            help=_default_help(str(address.port), address.port_env),
        )
    parser.add_argument(
        "--reload",
        action=argparse.BooleanOptionalAction,
        default=reload,
        help="restart when the code changes (default: %(default)s)",
    )
    return parser


def _default_help(default: str, variable: str | None) -> str:
    return f"default: ${variable} or {default}" if variable else f"default: {default}"


def load_app() -> Erlen:
    """The app for a service process, with the process's logging set up.

    :raises ConfigError: a setting is missing or malformed (:func:`run` reports it).
    """
    app = create_app()
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    return app


def run(serve: t.Callable[[], int], *, reload: bool = False) -> int:
    """Run a service until it stops; returns the process's exit status.

    :param serve: builds the app (:func:`load_app`) and serves; returns the exit status.
    :param reload: run ``serve`` in a child process that restarts when the code changes.
    """
    if reload and not is_reloader_child():
        # The watching parent never builds the app: the child reports its errors.
        return run_with_reloader(this_command(), watch=loaded_source_files)
    try:
        return serve()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return CONFIG_ERROR
