"""The starter's realtime service: websockets for the board, fed by Redis pub/sub."""

from __future__ import annotations

from erlen import Erlen
from erlen.realtime import RealtimeServer
from erlen.realtime.auth import SessionCookieAuth

from web.extensions import publisher

from .handlers import authorize
from .handlers import on_publish
from .handlers import presence_id


def create_server(app: Erlen) -> RealtimeServer:
    """The websocket server for ``app``'s configuration (same secret, broker and prefix)."""
    return RealtimeServer(
        broker=publisher.get_broker(app),
        auth=SessionCookieAuth.from_app(app),
        allowed_origins=app.config["ALLOWED_ORIGINS"],
        authorize=authorize,
        on_publish=on_publish,
        presence_id=presence_id,
        path="/ws",
    )
