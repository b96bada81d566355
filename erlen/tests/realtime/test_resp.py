"""The RESP reply parser of the broker's pub/sub connection (erlen.realtime.resp)."""

from __future__ import annotations

import pytest

from erlen.realtime.resp import ProtocolError
from erlen.realtime.resp import ReplyError
from erlen.realtime.resp import ReplyParser

MESSAGE_RESP2 = b'*3\r\n$7\r\nmessage\r\n$6\r\np:room\r\n$9\r\n{"seq":1}\r\n'
MESSAGE_RESP3 = b'>3\r\n$7\r\nmessage\r\n$6\r\np:room\r\n$9\r\n{"seq":1}\r\n'
SUBSCRIBED = b">3\r\n$9\r\nsubscribe\r\n$6\r\np:room\r\n:1\r\n"
MESSAGE = [b"message", b"p:room", b'{"seq":1}']


def test_pub_sub_replies_of_both_protocol_versions() -> None:
    parser = ReplyParser()
    assert parser.feed(MESSAGE_RESP2 + MESSAGE_RESP3 + SUBSCRIBED + b"+PONG\r\n") == [
        MESSAGE,
        MESSAGE,
        [b"subscribe", b"p:room", 1],
        b"PONG",
    ]
    assert parser.pending == 0


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b":-42\r\n", -42),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"_\r\n", None),
        (b"*0\r\n", []),
        (b",3.5\r\n", 3.5),
        (b"#t\r\n", True),
        (b"#f\r\n", False),
        (b"(12345678901234567890\r\n", 12345678901234567890),
        (b"=8\r\ntxt:some\r\n", b"some"),
        (b"~2\r\n:1\r\n:2\r\n", [1, 2]),
        (b"%1\r\n+key\r\n:7\r\n", {b"key": 7}),
        (b"*2\r\n*1\r\n:1\r\n$1\r\nx\r\n", [[1], b"x"]),
        # An attribute annotates the reply after it, which is what the caller gets.
        (b"|1\r\n+ttl\r\n:3600\r\n+OK\r\n", b"OK"),
        # Bulk strings are binary safe: a CRLF inside is data.
        (b"$4\r\na\r\nb\r\n", b"a\r\nb"),
    ],
)
def test_each_reply_type(data: bytes, value: object) -> None:
    assert ReplyParser().feed(data) == [value]


def test_an_error_reply_is_a_value_the_caller_inspects() -> None:
    replies = ReplyParser().feed(b"-ERR unknown command\r\n!9\r\nSYNTAX no\r\n:1\r\n")
    assert replies[:2] == ["ERR unknown command", "SYNTAX no"]
    assert all(isinstance(reply, ReplyError) for reply in replies[:2])
    assert replies[2] == 1


def test_replies_split_at_every_byte_come_out_whole_and_in_order() -> None:
    stream = MESSAGE_RESP3 + SUBSCRIBED + b"$-1\r\n" + MESSAGE_RESP2 + b"+PONG\r\n"
    expected = ReplyParser().feed(stream)
    for cut in range(1, len(stream)):
        parser = ReplyParser()
        assert parser.feed(stream[:cut]) + parser.feed(stream[cut:]) == expected, cut
        assert parser.pending == 0


def test_a_stream_fed_one_byte_at_a_time() -> None:
    stream = (MESSAGE_RESP3 + SUBSCRIBED) * 3
    parser = ReplyParser()
    replies = []
    for n in range(len(stream)):
        replies += parser.feed(stream[n : n + 1])
    assert replies == [MESSAGE, [b"subscribe", b"p:room", 1]] * 3


def test_a_large_reply_arriving_in_chunks_is_held_until_complete() -> None:
    body = b"x" * 300_000
    stream = b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$%d\r\n%s\r\n:5\r\n" % (len(body), body)
    parser = ReplyParser()
    replies = []
    for first in range(0, len(stream), 65536):
        replies += parser.feed(stream[first : first + 65536])
        if first + 65536 < len(stream) - 5:
            assert replies == []
            assert parser.pending > 0
    assert replies == [[b"message", b"c", body], 5]
    assert parser.pending == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"?what\r\n", "unknown RESP type byte"),
        (b"$abc\r\n", "not a RESP length"),
        (b"*x\r\n", "not a RESP length"),
        (b",nope\r\n", "not a RESP double"),
        (b"#x\r\n", "not a RESP boolean"),
    ],
)
def test_bytes_that_are_not_resp_raise(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        ReplyParser().feed(data)
