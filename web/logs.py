"""Logging for the web service: every line carries the request id nginx assigned.

nginx passes ``X-Request-ID`` (the client's, if well-formed, else a fresh one); web logs it
with each request and with anything logged while handling it, so one id follows a request
through nginx's access log and the service's log.
"""

from __future__ import annotations

import json
import logging
import re
import time
import typing as t
from datetime import datetime
from datetime import UTC

from erlen import Erlen
from erlen import g
from erlen import has_app_context
from erlen import request
from erlen.wrappers import Response

log = logging.getLogger("web.access")

# Same shape nginx accepts; anything else is replaced rather than logged verbatim.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request).

    Read from ``g``, which lives as long as the request's app context: the lines logged
    while that context tears down (after the request's own context has gone, e.g. the
    database session's removal) still carry the id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_app_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: time (UTC, ISO 8601), level, logger,
    request id, message, and the traceback (``exc``) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, t.Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


#: ``LOG_FORMAT=text``: readable lines, for a person at a terminal.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [rid=%(request_id)s] %(message)s"


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send every log line to stderr with its request id: JSON lines (``"json"``, what
    production uses) or readable ones (``"text"``). For the service entry points
    (``web.wsgi``, ``python -m worker``, ...), not for apps built in tests."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


def init_request_logging(app: Erlen) -> None:
    """Remember each request's id, and log one access line per request."""

    @app.before_request
    def remember_request_id() -> None:
        raw = request.headers.get("X-Request-ID", "")
        g.request_id = raw if _REQUEST_ID.fullmatch(raw) else "-"
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        return response
