"""Security headers on every web response, in ``make dev`` as behind nginx.

A strict Content-Security-Policy (scripts, styles and connections from this origin only, plus
the realtime service when it listens on another port), no framing, no MIME sniffing, and a
same-origin referrer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from erlen import Erlen
from erlen.wrappers import Response


def _realtime_sources(realtime_url: str) -> list[str]:
    """What ``connect-src`` must allow for the page's websocket, beyond ``'self'``."""
    if realtime_url.startswith(":"):
        # Same host, another port (make dev): any host the page was loaded from.
        port = realtime_url[1:].split("/", 1)[0]
        return [f"ws://*:{port}", f"wss://*:{port}"]
    if realtime_url.startswith(("ws://", "wss://")):
        parts = urlsplit(realtime_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    return []  # a path: same origin, covered by 'self'


def content_security_policy(realtime_url: str) -> str:
    connect = " ".join(["'self'", *_realtime_sources(realtime_url)])
    return "; ".join(
        [
            "default-src 'self'",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_security_headers(app: Erlen) -> None:
    policy = content_security_policy(app.config["REALTIME_URL"])
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
