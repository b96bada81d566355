"""``python -m web.dev`` (``make dev``): the whole starter in one process, no services.

SQLite under ``instance/``, in-memory pub/sub and job broker, the realtime server and a job
worker on threads, erlen's dev server with reloader and debugger in front. The same code as
``make up``; only the URLs in the configuration differ.

This module is the composition root of embedded mode, so it is the one place in ``web`` that
names the realtime service; nothing imports it.
"""

from __future__ import annotations

import argparse
import os
import sys

from erlen import Erlen
from erlen.ext.migrate import upgrade
from werkzeug.serving import is_running_from_reloader

import realtime
import web.jobs  # noqa: F401  (declares the jobs the worker thread runs)

from .app import create_app
from .config import ConfigError
from .extensions import jobs
from .logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--realtime-port", type=int, default=5001)
    parser.add_argument("--no-reload", action="store_true", help="no reloader or debugger")
    args = parser.parse_args(argv)

    # Embedded mode is what you get when nothing points at real services.
    for name in ("DATABASE_URL", "REDIS_URL", "BROKER_URL"):
        if os.environ.get(name, "memory://").split(":", 1)[0] not in {"memory", "sqlite"}:
            print(f"note: {name} is set; `make dev` uses it instead of the embedded default.")
    os.environ.setdefault("REALTIME_URL", f":{args.realtime_port}/ws")
    origins = f"http://127.0.0.1:{args.port},http://localhost:{args.port}"
    os.environ.setdefault("ALLOWED_ORIGINS", origins)

    try:
        app = create_app()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    configure_logging(app.config["LOG_LEVEL"])
    use_reloader = not args.no_reload
    # With the reloader, this code runs twice: in the watching parent and in the child that
    # serves. Only the child starts the realtime server, the worker and the migrations.
    if not use_reloader or is_running_from_reloader():
        start_embedded_services(app, args.host, args.realtime_port)

    app.run(
        host=args.host,
        port=args.port,
        debug=use_reloader,
        use_reloader=use_reloader,
        load_dotenv=False,
    )
    return 0


def start_embedded_services(app: Erlen, host: str, realtime_port: int) -> None:
    """Migrate the SQLite database, then start the realtime server and a job worker."""
    upgrade(app)
    server = realtime.create_server(app)
    handle = server.run_in_thread(host, realtime_port)
    print(f" * Realtime websocket on ws://{host}:{handle.port}/ws")
    jobs.run_worker_thread(app=app)
    print(" * Job worker running in-process")


if __name__ == "__main__":
    sys.exit(main())
