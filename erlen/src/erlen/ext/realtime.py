"""Publishing realtime events from an erlen app (web views, worker jobs).

``publisher = Publisher()`` then ``publisher.init_app(app)`` builds the broker that
:mod:`erlen.realtime` servers subscribe to, from ``REDIS_URL`` (``redis://…``, or
``memory://`` for one process) and ``KEY_PREFIX``::

    publisher.publish("board", "message.posted", {"id": 7, "body": "hi"})

reaches every websocket subscribed to ``board`` on every realtime replica. Delivery is
at-most-once (Redis pub/sub): clients catch up over HTTP after a ``resync``.

With :mod:`erlen.ext.login` installed too, every login it revokes (a logout, a logout
everywhere, :func:`~erlen.ext.login.revoke_sessions`) is also published on the realtime
control channel, so the realtime servers close that login's open websockets
(:mod:`erlen.realtime.revocation`).
"""

from __future__ import annotations

import logging
import typing as t

from ..globals import get_app
from ..realtime.broker import Broker
from ..realtime.broker import broker_from_url
from ..realtime.revocation import CONTROL_CHANNEL
from ..realtime.revocation import sessions_revoked_event
from ..realtime.revocation import user_revoked_event

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import Erlen

logger = logging.getLogger("erlen.ext.realtime")


class Publisher:
    """An extension holding the app's event broker; state in ``app.extensions["realtime"]``."""

    def __init__(self, app: Erlen | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Erlen) -> None:
        """Create the broker from ``REDIS_URL`` and ``KEY_PREFIX``."""
        url = app.config.get("REDIS_URL") or "memory://"
        prefix = app.config.get("KEY_PREFIX") or "erlen"
        app.extensions["realtime"] = broker_from_url(url, prefix=prefix)
        _forward_login_revocations()

    def get_broker(self, app: Erlen | None = None) -> Broker:
        """The broker of ``app``, or of the current app."""
        app = get_app("Publisher", app)
        try:
            return t.cast(Broker, app.extensions["realtime"])
        except KeyError:
            raise RuntimeError(
                "The realtime Publisher is not registered on this app; call"
                " publisher.init_app(app)."
            ) from None

    @property
    def broker(self) -> Broker:
        """The current app's broker."""
        return self.get_broker()

    def publish(self, channel: str, event: str, data: t.Any, *, id: t.Any = None) -> int:
        """Publish ``event`` with ``data`` on ``channel``; return its seq in the channel.

        :param id: an id clients can use to order or de-duplicate events; defaults to
            ``data["id"]`` when ``data`` is a mapping that has one.
        """
        return self.get_broker().publish(channel, _event(event, data, id))

    def publish_many(self, events: t.Iterable[tuple[str, str, t.Any]]) -> list[int]:
        """Publish ``(channel, event, data)`` triples in one round trip to the broker.

        Ids default as in :meth:`publish`. Every event is checked before any is sent.
        Returns their seqs, in order.

        .. versionadded:: 0.2
        """
        batch = [(channel, _event(event, data, None)) for channel, event, data in events]
        return self.get_broker().publish_many(batch)

    def presence(self, channel: str) -> list[str]:
        """The members present on ``channel`` across realtime replicas (see the
        ``presence_id`` option of :class:`~erlen.realtime.RealtimeServer`).

        .. versionadded:: 0.2
        """
        return self.get_broker().presence(channel)

    def ping(self) -> None:
        """Raise if the broker's backend can't be reached (for readiness checks)."""
        self.get_broker().ping()


def _event(event: str, data: t.Any, id: t.Any) -> dict[str, t.Any]:
    if id is None and isinstance(data, t.Mapping):
        id = data.get("id")
    return {"event": event, "data": data, "id": id}


def _forward_login_revocations() -> None:
    """Publish erlen.ext.login's revocations on the control channel (once per process)."""
    try:
        from .login.signals import session_revoked
        from .login.signals import user_sessions_revoked
    except ImportError:  # the login extra isn't installed: no logins to revoke
        return
    # Connecting the same module-level functions again changes nothing.
    session_revoked.connect(_publish_sessions_revoked)
    user_sessions_revoked.connect(_publish_user_revoked)


def _publish_sessions_revoked(app: Erlen, *, session_ids: list[str], **_: t.Any) -> None:
    _publish_control(app, sessions_revoked_event(session_ids))


def _publish_user_revoked(app: Erlen, *, user_id: str, epoch: int, **_: t.Any) -> None:
    _publish_control(app, user_revoked_event(user_id, epoch))


def _publish_control(app: Erlen, event: dict[str, t.Any]) -> None:
    broker = app.extensions.get("realtime")
    if not isinstance(broker, Broker):
        return  # this app has no Publisher
    try:
        broker.publish(CONTROL_CHANNEL, event)
    except Exception as e:
        # The revocation itself is stored; only the prompt close of open sockets is lost
        # (a new handshake is refused). Logging out must not fail because of it.
        logger.warning("Could not tell the realtime servers about a revoked login: %s", e)
