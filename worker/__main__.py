"""``python -m worker``: the job worker; ``python -m worker --check`` is its health check."""

from __future__ import annotations

import sys

from erlen import Erlen
from werkzeug._reloader import run_with_reloader

import web.jobs  # noqa: F401  (declares the jobs this process runs)
from web.app import create_app
from web.config import ConfigError
from web.extensions import jobs
from web.logs import configure_logging


def _create_app() -> Erlen:
    app = create_app()
    configure_logging(app.config["LOG_LEVEL"])
    return app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--reload" in argv:
        # Development (docker-compose.dev.yml): restart the worker when the code changes.
        rest = [arg for arg in argv if arg != "--reload"]
        run_with_reloader(lambda: sys.exit(_run(rest)))
        return 0
    return _run(argv)


def _run(argv: list[str]) -> int:
    try:
        # The factory is only called when a worker starts; `--check` needs no app.
        return jobs.worker_main(_create_app, argv)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
