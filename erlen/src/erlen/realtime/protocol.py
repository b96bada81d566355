"""The realtime wire protocol: JSON text frames in, typed requests out; no sockets.

Like :mod:`erlen.sansio`, this module does no I/O. The server hands it the data of each
message a client sent and gets back a request object (or a :class:`ProtocolError` to
answer with an ``error`` frame); it asks it for the text of each frame it sends.

Client → server::

    {"type": "subscribe", "channel": "board"}
    {"type": "subscribe", "channel": "board", "since": 41}
    {"type": "unsubscribe", "channel": "board"}
    {"type": "ping"}
    {"type": "publish", "channel": "board", "event": "typing", "data": {...}}

Server → client::

    {"type": "welcome", "protocol": 1, "max_message_size": 65536}
    {"type": "subscribed", "channel": "board", "seq": 42}
    {"type": "unsubscribed", "channel": "board"}
    {"type": "event", "channel": "board", "seq": 42, "event": "posted", "data": {...}, "id": 7}
    {"type": "pong"}
    {"type": "error", "code": "bad_json", "message": "Frame is not valid JSON."}
    {"type": "resync", "reason": "..."}

An ``event`` frame is the published event object with ``type`` and ``channel`` added, so
those two keys are reserved in events. ``resync`` tells the client it may have missed
events (for example the server lost its Redis connection for a moment): it should fetch
the current state over HTTP again. Unknown keys in client frames are ignored, so clients
can send newer fields to older servers.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass

from .errors import InvalidChannel
from .errors import ProtocolError

#: The protocol version announced in the ``welcome`` frame.
PROTOCOL_VERSION = 1

#: Largest client frame accepted by default, in bytes.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024

#: Longest channel name, in characters.
MAX_CHANNEL_LENGTH = 200

#: Keys an event may not use: the ``event`` frame puts its own values there, and the
#: broker stamps ``seq``, the event's number in its channel.
RESERVED_EVENT_KEYS = frozenset({"type", "channel", "seq"})

#: Keys of a received event that only the frame may set.
FRAME_KEYS = frozenset({"type", "channel"})

# Letters, digits and a few separators; no whitespace, no Redis glob characters, nothing
# that needs escaping in a URL or a log line.
_CHANNEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@/=+-]*")

# Error codes, sent in ``error`` frames.
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
UNKNOWN_TYPE = "unknown_type"
TOO_LARGE = "too_large"
BAD_CHANNEL = "bad_channel"
FORBIDDEN = "forbidden"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
SERVER_ERROR = "server_error"


def validate_channel(channel: object) -> str:
    """Return ``channel`` if it is a valid channel name, else raise :class:`InvalidChannel`.

    A channel is 1 to :data:`MAX_CHANNEL_LENGTH` characters: letters, digits and
    ``_ . : @ / = + -``, not starting with a separator.
    """
    if not isinstance(channel, str):
        raise InvalidChannel(channel, "a channel must be a string.")
    if not channel:
        raise InvalidChannel(channel, "a channel can't be empty.")
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise InvalidChannel(channel, f"longer than {MAX_CHANNEL_LENGTH} characters.")
    if _CHANNEL_RE.fullmatch(channel) is None:
        raise InvalidChannel(
            channel, "use letters, digits and _ . : @ / = + - only, starting with a letter/digit."
        )
    return channel


@dataclass(frozen=True, slots=True)
class Subscribe:
    """The client wants the events of :attr:`channel`.

    With :attr:`since` (the last ``seq`` it received on the channel, after a reconnect)
    it also wants the events it missed, replayed from the broker's window.
    """

    channel: str
    since: int | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """The client no longer wants the events of :attr:`channel`."""

    channel: str


@dataclass(frozen=True, slots=True)
class Ping:
    """The client checks the connection; answered with ``pong``."""


@dataclass(frozen=True, slots=True)
class Publish:
    """The client asks the server to publish :attr:`event` on :attr:`channel`.

    Servers relay only what their ``on_publish`` hook allows.
    """

    channel: str
    event: str
    data: t.Any


#: Any request a client can make.
ClientFrame = Subscribe | Unsubscribe | Ping | Publish


def parse_client_frame(
    data: str | bytes, *, max_size: int = DEFAULT_MAX_MESSAGE_SIZE
) -> ClientFrame:
    """Turn the data of one client message into a request.

    :param data: The message as received: text, or bytes holding UTF-8 JSON.
    :param max_size: Largest accepted message in bytes.
    :raise ProtocolError: The message is too large, not JSON, not an object, of an unknown
        type, or misses a field. The error's ``code`` and ``message`` go in the ``error``
        frame the server sends back.
    """
    if isinstance(data, str):
        # A character is at least one byte, so only long strings need encoding to measure.
        size = len(data) if len(data) * 4 <= max_size else len(data.encode("utf-8", "replace"))
    else:
        size = len(data)
    if size > max_size:
        raise ProtocolError(TOO_LARGE, f"Frame is {size} bytes, more than {max_size}.")
    if not isinstance(data, str):
        # json.loads would also guess UTF-16 and UTF-32; the protocol is UTF-8 only.
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(BAD_JSON, "Frame is not valid UTF-8.") from None
    try:
        frame = json.loads(data)
    except ValueError:
        raise ProtocolError(BAD_JSON, "Frame is not valid JSON.") from None
    except RecursionError:
        # A 64 KiB frame of "[[[[..." is enough to exhaust the parser's stack.
        raise ProtocolError(BAD_JSON, "Frame is nested too deeply.") from None
    if not isinstance(frame, dict):
        raise ProtocolError(BAD_FRAME, "Frame must be a JSON object.")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(BAD_FRAME, "Frame has no 'type' string.")
    if kind == "ping":
        return Ping()
    if kind == "subscribe":
        channel = _channel_of(frame)
        since = frame.get("since")
        if since is not None and (type(since) is not int or since < 0):
            raise ProtocolError(
                BAD_FRAME, "'since' must be a sequence number (an integer >= 0).", channel=channel
            )
        return Subscribe(channel, since)
    if kind == "unsubscribe":
        return Unsubscribe(_channel_of(frame))
    if kind == "publish":
        channel = _channel_of(frame)
        event = frame.get("event")
        if not isinstance(event, str) or not event or len(event) > MAX_CHANNEL_LENGTH:
            raise ProtocolError(
                BAD_FRAME, "A publish frame needs an 'event' name.", channel=channel
            )
        return Publish(channel, event, frame.get("data"))
    raise ProtocolError(UNKNOWN_TYPE, f"Unknown frame type {kind[:50]!r}.")


def _channel_of(frame: dict[str, t.Any]) -> str:
    """Return the frame's valid ``channel`` or raise a :class:`ProtocolError`."""
    channel = frame.get("channel")
    try:
        return validate_channel(channel)
    except InvalidChannel as e:
        shown = channel if isinstance(channel, str) else None
        raise ProtocolError(BAD_CHANNEL, str(e), channel=shown) from None


def encode_frame(frame: t.Mapping[str, t.Any]) -> str:
    """Return the compact JSON text of a server frame."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def welcome_frame(*, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> str:
    """The first frame on every connection: the protocol version and the client's limits."""
    return encode_frame(
        {"type": "welcome", "protocol": PROTOCOL_VERSION, "max_message_size": max_message_size}
    )


def subscribed_frame(channel: str, seq: int | None = None) -> str:
    """Acknowledge a subscription; sent once events of ``channel`` are being delivered.

    ``seq`` is the number of the channel's last event the client now has (sent, replayed
    or published before it subscribed): later events have higher numbers.
    """
    frame: dict[str, t.Any] = {"type": "subscribed", "channel": channel}
    if seq is not None:
        frame["seq"] = seq
    return encode_frame(frame)


def unsubscribed_frame(channel: str) -> str:
    """Acknowledge an unsubscription."""
    return encode_frame({"type": "unsubscribed", "channel": channel})


_PONG = encode_frame({"type": "pong"})


def pong_frame() -> str:
    """The answer to ``ping``."""
    return _PONG


def error_frame(message: str, *, code: str = BAD_FRAME, channel: str | None = None) -> str:
    """Tell the client one of its frames was refused; the connection stays open."""
    frame: dict[str, t.Any] = {"type": "error", "code": code, "message": message}
    if channel is not None:
        frame["channel"] = channel
    # ASCII with escapes: the refused channel is the client's own text and may hold a lone
    # surrogate ("\udfff" in JSON), which can't be sent as UTF-8; \u escapes always can.
    return json.dumps(frame, separators=(",", ":"), allow_nan=False)


def resync_frame(
    reason: str = "Events may have been missed; fetch the current state.",
    *,
    channel: str | None = None,
) -> str:
    """Tell the client it may have missed events (of ``channel``, or of any) and should
    refetch over HTTP."""
    frame: dict[str, t.Any] = {"type": "resync", "reason": reason}
    if channel is not None:
        frame["channel"] = channel
    return encode_frame(frame)


def event_frame(channel: str, payload: bytes) -> bytes:
    """Build an ``event`` frame from an event exactly as the broker carried it.

    ``payload`` is the JSON object the publisher encoded (brokers check it is one and uses
    no reserved key). It is spliced in rather than decoded and encoded again: fan-out
    builds one frame per event and sends it to every subscriber, so this is its hot path.
    """
    head = b'{"type":"event","channel":' + json.dumps(channel).encode()
    rest = payload.strip()[1:].lstrip()
    if rest[:1] == b"}":
        return head + b"}"
    return head + b"," + rest
