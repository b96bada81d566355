"""The starter's realtime service: websockets for the board and the rooms, fed by Redis
pub/sub."""

from __future__ import annotations

import typing as t

from erlen import Erlen
from erlen.realtime import RealtimeServer
from erlen.realtime.auth import SessionCookieAuth

from web.extensions import publisher

from .handlers import ChannelPolicy
from .handlers import DatabaseRoomAccess
from .metrics import serve_metrics


def create_server(app: Erlen, *, page_ports: t.Iterable[int] = ()) -> RealtimeServer:
    """The websocket server for ``app``'s configuration (same secret, broker and prefix).

    Pages are accepted from ``ALLOWED_ORIGINS`` and from the origin the socket was opened
    on (behind nginx, the page's own), plus, with ``page_ports``, from the socket's host on
    those ports: ``make dev`` serves the page on another port than the socket.

    It also answers ``GET /metrics`` on its port (realtime/metrics.py).
    """
    policy = ChannelPolicy(DatabaseRoomAccess(app))
    server = RealtimeServer(
        same_host_ports=page_ports,
        broker=publisher.get_broker(app),
        auth=SessionCookieAuth.from_app(app),
        allowed_origins=app.config["ALLOWED_ORIGINS"],
        authorize=policy.authorize,
        on_publish=policy.on_publish,
        presence_id=policy.presence_id,
        path="/ws",
    )
    serve_metrics(server)
    return server
