"""``python -m realtime``: the websocket service (REALTIME_HOST, REALTIME_PORT)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from werkzeug._reloader import run_with_reloader

from web.app import create_app
from web.config import ConfigError
from web.logs import configure_logging

from . import create_server

log = logging.getLogger("realtime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("REALTIME_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--reload", action="store_true", help="restart when the code changes")
    args = parser.parse_args(argv)
    port_text = os.environ.get("REALTIME_PORT", "8001") if args.port is None else str(args.port)
    try:
        port = int(port_text)
    except ValueError:
        parser.error(f"REALTIME_PORT must be a port number, got {port_text!r}.")
    if not 0 <= port <= 65535:
        parser.error(f"the port must be between 0 and 65535, got {port}.")

    if args.reload:
        run_with_reloader(lambda: _serve(args.host, port))
        return 0
    return _serve(args.host, port)


def _serve(host: str, port: int) -> int:
    try:
        app = create_app()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    configure_logging(app.config["LOG_LEVEL"])
    server = create_server(app)
    log.info("realtime listening on %s:%s", host, port)
    asyncio.run(server.serve_forever(host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
