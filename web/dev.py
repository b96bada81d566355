"""``python -m web.dev`` (``make dev``): the whole starter in one process, no services.

SQLite under ``instance/``, in-memory pub/sub and job broker, the realtime server and a job
worker on threads, erlen's dev server with reloader and debugger in front. The same code as
``make up``; only the URLs in the configuration differ.

This module is the composition root of embedded mode, so it is the one place in ``web`` that
names the realtime service; nothing imports it.
"""

from __future__ import annotations

import os
import sys

from erlen import Erlen
from erlen.cli import load_dotenv
from erlen.ext.migrate import upgrade
from erlen.helpers import get_load_dotenv
from werkzeug.serving import is_running_from_reloader

import realtime
import web.jobs  # noqa: F401  (declares the jobs the worker thread runs)

from .entrypoint import Address
from .entrypoint import argument_parser
from .entrypoint import load_app
from .entrypoint import port_number
from .entrypoint import run
from .extensions import db
from .extensions import jobs
from .services import demo

ADDRESS = Address("127.0.0.1", 5000)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("python -m web.dev", __doc__, address=ADDRESS, reload=True)
    parser.add_argument("--realtime-port", type=port_number, default=5001)
    parser.add_argument(
        "--no-seed", dest="seed", action="store_false", help="Leave an empty database empty."
    )
    args = parser.parse_args(argv)

    # .env overrides, as for the `erlen` command (the real environment wins; ERLEN_SKIP_DOTENV
    # turns it off). `make up`'s .env names no service URL, so dev stays embedded with it.
    if get_load_dotenv():
        load_dotenv()
    # Embedded mode is what you get when nothing points at real services.
    for name in ("DATABASE_URL", "REDIS_URL", "BROKER_URL"):
        if os.environ.get(name, "memory://").split(":", 1)[0] not in {"memory", "sqlite"}:
            print(f"note: {name} is set; `make dev` uses it instead of the embedded default.")
    os.environ.setdefault("REALTIME_URL", f":{args.realtime_port}/ws")

    # The dev server has werkzeug's reloader (public through run_simple), so `run` doesn't
    # add one of its own.
    return run(
        lambda: serve(args.host, args.port, args.realtime_port, reload=args.reload, seed=args.seed)
    )


def serve(host: str, port: int, realtime_port: int, *, reload: bool, seed: bool = True) -> int:
    """Run the dev server (with reloader and debugger when ``reload``) until interrupted."""
    app = load_app()
    # With the reloader, this code runs twice: in the watching parent and in the child that
    # serves. Only the child starts the realtime server, the worker and the migrations.
    if not reload or is_running_from_reloader():
        start_embedded_services(app, host, realtime_port, web_port=port, seed=seed)
    # .env was loaded by main(), before the configuration was read.
    app.run(host=host, port=port, debug=reload, use_reloader=reload, load_dotenv=False)
    return 0


def start_embedded_services(
    app: Erlen, host: str, realtime_port: int, *, web_port: int, seed: bool = True
) -> None:
    """Migrate the SQLite database (and, when it has no users and ``seed``, fill it with the
    demo data), then start the realtime server and a job worker (with the outbox relay).

    The page comes from ``web_port`` on whatever host the browser used (localhost, the
    machine's LAN address, a VM's name): the realtime server accepts that origin.
    """
    upgrade(app)
    if seed:
        with app.app_context():
            if demo.is_empty(session=db.session):
                seeded = demo.seed(session=db.session)
                print(
                    f" * Demo data: users {', '.join(seeded.users)} (ada is an admin), password"
                    f" {demo.DEMO_PASSWORD!r}; rooms {', '.join(seeded.rooms)}"
                )
    server = realtime.create_server(app, page_ports=(web_port,))
    handle = server.run_in_thread(host, realtime_port)
    print(f" * Realtime websocket on ws://{host}:{handle.port}/ws")
    # The worker also starts the outbox relay (erlen.ext.outbox registers it with jobs).
    jobs.run_worker_thread(app=app)
    print(" * Job worker and outbox relay running in-process")


if __name__ == "__main__":
    sys.exit(main())
