"""``python -m realtime``: the websocket service (REALTIME_HOST, REALTIME_PORT)."""

from __future__ import annotations

import asyncio
import logging
import sys

from web.entrypoint import Address
from web.entrypoint import argument_parser
from web.entrypoint import load_app
from web.entrypoint import run

from . import create_server

log = logging.getLogger("realtime")

ADDRESS = Address("127.0.0.1", 8001, host_env="REALTIME_HOST", port_env="REALTIME_PORT")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("python -m realtime", __doc__, address=ADDRESS)
    args = parser.parse_args(argv)
    return run(lambda: serve(args.host, args.port), reload=args.reload)


def serve(host: str, port: int) -> int:
    """Serve websockets until interrupted."""
    server = create_server(load_app())
    log.info("realtime listening on %s:%s", host, port)
    asyncio.run(server.serve_forever(host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
