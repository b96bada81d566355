"""The sans-I/O wire protocol: frames in, requests out, and the frames the server sends."""

from __future__ import annotations

import json
import typing as t

import pytest

from erlen.realtime import protocol
from erlen.realtime import ProtocolError
from erlen.realtime.broker import encode_event
from erlen.realtime.protocol import parse_client_frame


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"type":"ping"}', protocol.Ping()),
        (b'{"type":"ping"}', protocol.Ping()),
        ('{"type":"subscribe","channel":"board"}', protocol.Subscribe("board")),
        ('{"type":"unsubscribe","channel":"room:7"}', protocol.Unsubscribe("room:7")),
        (
            '{"type":"publish","channel":"board","event":"typing","data":{"on":true}}',
            protocol.Publish("board", "typing", {"on": True}),
        ),
        # Unknown keys are ignored, so newer clients work with older servers.
        ('{"type":"ping","ref":42}', protocol.Ping()),
    ],
)
def test_client_frames_parse_into_requests(data: str | bytes, expected: object) -> None:
    assert parse_client_frame(data) == expected


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ("not json", "bad_json", "Frame is not valid JSON."),
        (b"\xff\xfe", "bad_json", "Frame is not valid UTF-8."),
        ("[1, 2]", "bad_frame", "Frame must be a JSON object."),
        ('{"channel":"board"}', "bad_frame", "Frame has no 'type' string."),
        ('{"type":"shout"}', "unknown_type", "Unknown frame type 'shout'."),
        (
            '{"type":"subscribe"}',
            "bad_channel",
            "Invalid channel None: a channel must be a string.",
        ),
        ('{"type":"subscribe","channel":""}', "bad_channel", "Invalid channel '': a channel"),
        ('{"type":"subscribe","channel":"a b"}', "bad_channel", "Invalid channel 'a b': use"),
        ('{"type":"publish","channel":"board"}', "bad_frame", "A publish frame needs"),
    ],
)
def test_malformed_frames_raise_protocol_errors_with_a_code(
    data: str | bytes, code: str, message: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame(data)
    assert info.value.code == code
    assert info.value.message.startswith(message)


def test_deeply_nested_frames_are_an_error_not_a_crash() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame("[" * 30_000 + "]" * 30_000)
    assert info.value.code == "bad_json"


def test_oversize_frames_are_refused_before_decoding() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame('{"type":"ping","pad":"' + "x" * 100 + '"}', max_size=64)
    assert info.value.code == "too_large"
    # Measured in bytes, not characters.
    with pytest.raises(ProtocolError):
        parse_client_frame('{"type":"ping","pad":"' + "é" * 30 + '"}', max_size=64)


def test_bad_channel_errors_name_the_channel() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_frame('{"type":"subscribe","channel":"a b"}')
    assert info.value.channel == "a b"


def frame(text: str | bytes) -> dict[str, t.Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def test_server_frames_are_json_objects_with_a_type() -> None:
    assert frame(protocol.welcome_frame(max_message_size=10)) == {
        "type": "welcome",
        "protocol": 1,
        "max_message_size": 10,
    }
    assert frame(protocol.pong_frame()) == {"type": "pong"}
    assert frame(protocol.subscribed_frame("board")) == {"type": "subscribed", "channel": "board"}
    assert frame(protocol.unsubscribed_frame("b")) == {"type": "unsubscribed", "channel": "b"}
    assert frame(protocol.error_frame("No.", code="forbidden", channel="b")) == {
        "type": "error",
        "code": "forbidden",
        "message": "No.",
        "channel": "b",
    }
    assert frame(protocol.resync_frame())["type"] == "resync"


@pytest.mark.parametrize(
    "event",
    [
        {"event": "message.posted", "data": {"id": 1, "body": 'hé "quoted"'}, "id": 1},
        {},
        {"nested": {"deep": [1, 2, {"x": None}]}},
    ],
)
def test_event_frames_carry_the_published_event_with_type_and_channel(
    event: dict[str, t.Any],
) -> None:
    payload = encode_event("room:1", event)
    assert frame(protocol.event_frame("room:1", payload)) == {
        "type": "event",
        "channel": "room:1",
        **event,
    }


@pytest.mark.parametrize("payload", [b"{ }", b' {"a": 1} ', b'{\n"a":1}'])
def test_event_frames_accept_payloads_from_other_json_encoders(payload: bytes) -> None:
    assert frame(protocol.event_frame("c", payload))["channel"] == "c"
