"""Redis replies (RESP2 and RESP3) parsed from raw bytes, for the pub/sub connection.

The broker's subscribing connection receives nothing but pub/sub messages and the replies
to its ``SUBSCRIBE``, ``UNSUBSCRIBE`` and ``PING``. redis-py hands them over one at a time,
each through a chain of coroutines (``get_message``: ~40 µs per event, which is most of
the fan-out's cost per event when rooms are small). :class:`ReplyParser` turns everything one
socket read brought into values in one synchronous call.

Values: bulk and simple strings are ``bytes``, integers ``int``, arrays, pushes and sets
``list``, maps ``dict``, nulls ``None``, doubles ``float``, booleans ``bool``; an error
reply is a :class:`ReplyError` *value* (the caller decides what it means). Attributes
(RESP3 ``|``) are read and dropped.

Reference: https://redis.io/docs/latest/develop/reference/protocol-spec/
"""

from __future__ import annotations

import typing as t

Reply = t.Any


class ReplyError(str):
    """An error reply (``-ERR ...`` or a RESP3 blob error), as its text."""

    __slots__ = ()


class ProtocolError(Exception):
    """Bytes that are not RESP: the connection can't be read any further."""


class _Incomplete(Exception):
    """The buffer ends inside a reply; ``need`` is the least length that could finish it."""

    def __init__(self, need: int) -> None:
        self.need = need


# Type bytes (RESP3 adds the last nine to RESP2's five).
_BULK, _ARRAY, _INTEGER, _SIMPLE, _ERROR = b"$*:+-"
_PUSH, _SET, _MAP, _NULL, _DOUBLE, _BOOLEAN, _BIG, _VERBATIM, _BLOB_ERROR, _ATTRIBUTE = (
    b">~%_,#(=!|"
)


class ReplyParser:
    """Splits a byte stream into replies, keeping an unfinished one for the next feed."""

    __slots__ = ("_buffer", "_need")

    def __init__(self) -> None:
        self._buffer = b""
        # Nothing can finish before the buffer is this long: feeds of a large reply's
        # middle don't parse its head again.
        self._need = 0

    def feed(self, data: bytes) -> list[Reply]:
        """The replies ``data`` completes, in order."""
        buffer = self._buffer + data if self._buffer else data
        if len(buffer) < self._need:
            self._buffer = buffer
            return []
        replies: list[Reply] = []
        pos = 0
        size = len(buffer)
        while pos < size:
            try:
                value, pos = _parse(buffer, pos)
            except _Incomplete as e:
                self._buffer = buffer[pos:]
                self._need = e.need - pos
                return replies
            replies.append(value)
        self._buffer = b""
        self._need = 0
        return replies

    @property
    def pending(self) -> int:
        """Bytes of an unfinished reply held for the next :meth:`feed`."""
        return len(self._buffer)


def _parse(buffer: bytes, pos: int) -> tuple[Reply, int]:
    """The reply starting at ``pos`` and the position after it."""
    end = buffer.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete(len(buffer) + 1)
    kind = buffer[pos]
    head = buffer[pos + 1 : end]
    pos = end + 2
    if kind == _BULK or kind == _VERBATIM or kind == _BLOB_ERROR:
        length = _int(head)
        if length < 0:
            return None, pos
        stop = pos + length
        if len(buffer) < stop + 2:
            raise _Incomplete(stop + 2)
        value = buffer[pos:stop]
        if kind == _VERBATIM:
            value = value[4:]  # "txt:" or "mkd:"
        elif kind == _BLOB_ERROR:
            return ReplyError(value.decode(errors="replace")), stop + 2
        return value, stop + 2
    if kind == _ARRAY or kind == _PUSH or kind == _SET:
        count = _int(head)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buffer, pos)
            items.append(item)
        return items, pos
    if kind == _INTEGER or kind == _BIG:
        return _int(head), pos
    if kind == _SIMPLE:
        return head, pos
    if kind == _ERROR:
        return ReplyError(head.decode(errors="replace")), pos
    if kind == _NULL:
        return None, pos
    if kind == _MAP or kind == _ATTRIBUTE:
        pairs = {}
        for _ in range(_int(head)):
            key, pos = _parse(buffer, pos)
            value, pos = _parse(buffer, pos)
            pairs[key if not isinstance(key, list) else tuple(key)] = value
        if kind == _ATTRIBUTE:
            return _parse(buffer, pos)  # attributes annotate the reply that follows
        return pairs, pos
    if kind == _DOUBLE:
        try:
            return float(head), pos
        except ValueError:
            raise ProtocolError(f"not a RESP double: {head[:40]!r}") from None
    if kind == _BOOLEAN:
        if head not in (b"t", b"f"):
            raise ProtocolError(f"not a RESP boolean: {head[:40]!r}")
        return head == b"t", pos
    raise ProtocolError(f"unknown RESP type byte {bytes([kind])!r}")


def _int(head: bytes) -> int:
    try:
        return int(head)
    except ValueError:
        raise ProtocolError(f"not a RESP length or integer: {head[:40]!r}") from None
