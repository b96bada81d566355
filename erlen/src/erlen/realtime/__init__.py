"""erlen's websocket toolkit: a broker, a wire protocol, handshake auth and a server.

Events are published to channels through a broker (Redis pub/sub between processes, or
its in-memory twin in one process) by web views and worker jobs; realtime servers
subscribe once per process and fan each event out to the websocket clients subscribed to
its channel. The session cookie web sets authenticates the websocket handshake, and
``Origin`` is checked. Every event gets a sequence number in its channel; clients that
reconnect resume from their last one through a short replay window, and those the window
no longer covers get a ``resync`` frame and refetch over HTTP. Presence tells who is on a
channel across replicas. See ``docs/realtime.md``.
"""

from __future__ import annotations

from .auth import check_origin as check_origin
from .auth import OriginPolicy as OriginPolicy
from .auth import SessionCookieAuth as SessionCookieAuth
from .broker import Broker as Broker
from .broker import broker_from_url as broker_from_url
from .broker import History as History
from .broker import Subscription as Subscription
from .errors import BrokerClosed as BrokerClosed
from .errors import BrokerError as BrokerError
from .errors import BrokerUnavailable as BrokerUnavailable
from .errors import EventTooLarge as EventTooLarge
from .errors import InvalidChannel as InvalidChannel
from .errors import InvalidEvent as InvalidEvent
from .errors import ProtocolError as ProtocolError
from .errors import RealtimeError as RealtimeError
from .memory import MemoryBroker as MemoryBroker
from .presence import PresenceTracker as PresenceTracker
from .redis_broker import RedisBroker as RedisBroker
from .revocation import CLOSE_REVOKED as CLOSE_REVOKED
from .revocation import CONTROL_CHANNEL as CONTROL_CHANNEL
from .server import RealtimeServer as RealtimeServer
from .server import ServerThread as ServerThread
