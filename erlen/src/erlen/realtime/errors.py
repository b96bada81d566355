"""The exceptions of :mod:`erlen.realtime`, all under one root, :class:`RealtimeError`."""

from __future__ import annotations


class RealtimeError(Exception):
    """Base class of every error the realtime toolkit raises on purpose."""


class ProtocolError(RealtimeError):
    """A client frame could not be understood; the server answers it with an ``error`` frame.

    :param code: A short machine-readable reason (``"bad_json"``, ``"unknown_type"``, ...),
        sent to the client along with the message.
    :param message: A sentence for people, ending with a period.
    :param channel: The channel the frame named, when it named one.
    """

    def __init__(self, code: str, message: str, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.channel = channel


class InvalidChannel(RealtimeError, ValueError):
    """A channel name is empty, too long, or uses characters outside the allowed set."""

    def __init__(self, channel: object, reason: str) -> None:
        super().__init__(f"Invalid channel {channel!r}: {reason}")
        self.channel = channel


class BrokerError(RealtimeError):
    """An event could not be published or delivered by a broker."""


class InvalidEvent(BrokerError, ValueError):
    """An event is not a JSON object the broker can carry (wrong type, reserved key, ...)."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"Event for channel {channel!r} {reason}")
        self.channel = channel


class EventTooLarge(InvalidEvent):
    """An encoded event is larger than the broker's ``max_event_size``."""

    def __init__(self, channel: str, size: int, limit: int) -> None:
        super().__init__(channel, f"is {size} bytes, more than the limit of {limit} bytes.")
        self.size = size
        self.limit = limit


class BrokerUnavailable(BrokerError):
    """The broker's backend (Redis) could not be reached; the event was not published."""


class BrokerClosed(BrokerError):
    """The broker was closed and can't be used any more."""
