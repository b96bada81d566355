"""``python -m mailcatcher``: SMTP on ``MAILCATCHER_SMTP_PORT`` (1025), the pages on
``MAILCATCHER_HTTP_PORT`` (8025), both on ``MAILCATCHER_HOST`` (0.0.0.0), until SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import types

from aiosmtpd.controller import Controller
from werkzeug.serving import make_server

from . import create_app
from . import SMTPHandler
from .inbox import Inbox

log = logging.getLogger("mailcatcher")


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        sys.exit(f"error: {name}: must be a port number, got {raw!r}.")
    return int(raw)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host = os.environ.get("MAILCATCHER_HOST", "0.0.0.0")
    smtp_port = _port("MAILCATCHER_SMTP_PORT", 1025)
    http_port = _port("MAILCATCHER_HTTP_PORT", 8025)
    inbox = Inbox()
    try:
        app = create_app(inbox, os.environ.get("MAILCATCHER_PASSWORD", ""))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    smtp = Controller(SMTPHandler(inbox), hostname=host, port=smtp_port)
    smtp.start()
    http = make_server(host, http_port, app, threaded=True)
    log.info(
        "catching mail on smtp://%s:%d, shown on http://%s:%d/_mail/",
        host,
        smtp_port,
        host,
        http_port,
    )

    def stop(signum: int, frame: types.FrameType | None) -> None:
        threading.Thread(target=http.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        http.serve_forever()
    finally:
        smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
