"""Property-based tests of the realtime wire protocol (Hypothesis).

Whatever a client sends, parsing gives a request or a :class:`ProtocolError` whose ``error``
frame can be sent back (valid JSON, encodable as UTF-8): never another exception, which
would close the socket with a server error. Frames the server builds decode to what was put
in, including the spliced ``event`` frame on the fan-out hot path.
"""

from __future__ import annotations

import json
import typing as t

from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from erlen.realtime.errors import ProtocolError
from erlen.realtime.protocol import encode_frame
from erlen.realtime.protocol import error_frame
from erlen.realtime.protocol import event_frame
from erlen.realtime.protocol import parse_client_frame
from erlen.realtime.protocol import Ping
from erlen.realtime.protocol import Publish
from erlen.realtime.protocol import RESERVED_EVENT_KEYS
from erlen.realtime.protocol import Subscribe
from erlen.realtime.protocol import Unsubscribe
from erlen.realtime.protocol import validate_channel

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)

channels = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:@/=+-]{0,40}", fullmatch=True)

# Frames shaped like real ones, with any value in any field: closer to what a buggy or
# hostile client sends than random text, which mostly stops at "not JSON".
frame_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["subscribe", "unsubscribe", "ping", "publish"]) | json_values,
        "channel": channels | json_values,
        "since": st.integers() | json_values,
        "event": st.text(max_size=300) | json_values,
        "data": json_values,
    },
)


def _parse_or_error(data: str | bytes) -> object:
    """Parse ``data``; on refusal, build the error frame the server would send."""
    try:
        return parse_client_frame(data, max_size=4096)
    except ProtocolError as e:
        frame = error_frame(e.message, code=e.code, channel=e.channel)
        frame.encode("utf-8")  # what the websocket library must be able to do with it
        return json.loads(frame)


@given(data=st.text(max_size=500) | st.binary(max_size=500))
@example(data='{"type": "\\ud800"}')  # a lone surrogate as the type
@example(data='{"type": "subscribe", "channel": "\\udfff"}')
@example(data="[" * 5000)
@example(data=b"\xff\xfe{\x00}\x00")  # UTF-16: the protocol is UTF-8 only
@example(data='{"type": "subscribe", "channel": "a", "since": 1e400}')
def test_any_data_is_a_request_or_a_sendable_error(data: str | bytes) -> None:
    result = _parse_or_error(data)
    assert isinstance(result, (Subscribe, Unsubscribe, Ping, Publish, dict))


@given(frame=frame_like)
def test_any_frame_like_object_is_a_request_or_a_sendable_error(frame: dict[str, t.Any]) -> None:
    result = _parse_or_error(json.dumps(frame))
    if isinstance(result, dict):
        assert result["type"] == "error" and result["code"] and result["message"]
        return
    # Whatever was accepted holds what the frame said, checked.
    assert frame["type"] in ("subscribe", "unsubscribe", "ping", "publish")
    if isinstance(result, (Subscribe, Unsubscribe, Publish)):
        assert result.channel == validate_channel(frame["channel"])
    if isinstance(result, Subscribe):
        since = frame.get("since")
        assert result.since == since and (since is None or since >= 0)


@given(channel=channels, since=st.none() | st.integers(min_value=0))
def test_subscribe_frames_round_trip(channel: str, since: int | None) -> None:
    frame: dict[str, t.Any] = {"type": "subscribe", "channel": channel}
    if since is not None:
        frame["since"] = since
    assert parse_client_frame(json.dumps(frame)) == Subscribe(channel, since)
    # Bytes (a binary websocket message) mean the same as text.
    assert parse_client_frame(json.dumps(frame).encode()) == Subscribe(channel, since)


@given(
    channel=channels,
    payload=st.dictionaries(
        st.text(max_size=8).filter(lambda key: key not in RESERVED_EVENT_KEYS),
        json_values,
        max_size=5,
    ),
    indent=st.none() | st.integers(min_value=0, max_value=3),
)
def test_event_frames_carry_the_published_payload(
    channel: str, payload: dict[str, t.Any], indent: int | None
) -> None:
    # Publishers may encode with any spacing; the spliced frame must still be one object.
    encoded = json.dumps(payload, indent=indent).encode()

    frame = json.loads(event_frame(channel, encoded))

    assert frame == {"type": "event", "channel": channel, **payload}


@given(frame=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_server_frames_are_compact_json_of_what_was_given(frame: dict[str, t.Any]) -> None:
    assert json.loads(encode_frame(frame)) == frame
