"""Who may subscribe to and publish on the board."""

from __future__ import annotations

from realtime.handlers import authorize
from realtime.handlers import on_publish
from realtime.handlers import presence_id
from web import events


def test_visitors_with_a_session_may_subscribe_to_the_board() -> None:
    assert authorize({"visitor": "visitor-1"}, events.BOARD_CHANNEL)


def test_no_session_or_other_channels_are_refused() -> None:
    assert not authorize(None, events.BOARD_CHANNEL)
    assert not authorize({}, events.BOARD_CHANNEL)
    assert not authorize({"visitor": ""}, events.BOARD_CHANNEL)
    assert not authorize({"visitor": "visitor-1"}, "admin")


def test_typing_is_relayed_with_the_name_from_the_session_not_the_client() -> None:
    relayed = on_publish(
        {"visitor": "visitor-1"}, events.BOARD_CHANNEL, events.TYPING, {"visitor": "someone-else"}
    )
    assert relayed == {"event": events.TYPING, "data": {"visitor": "visitor-1"}}


def test_clients_cannot_publish_server_events_or_without_a_session() -> None:
    assert on_publish({"visitor": "v"}, events.BOARD_CHANNEL, events.MESSAGE_PROCESSED, {}) is None
    assert on_publish(None, events.BOARD_CHANNEL, events.TYPING, {}) is None
    assert on_publish({"visitor": "v"}, "other", events.TYPING, {}) is None


def test_the_name_the_page_shows_is_used_over_the_visitor_id() -> None:
    session = {"visitor": "visitor-1", "name": "alice"}
    relayed = on_publish(session, events.BOARD_CHANNEL, events.TYPING, {})
    assert relayed == {"event": events.TYPING, "data": {"visitor": "alice"}}


def test_presence_on_the_board_is_the_shown_name_and_nowhere_else() -> None:
    assert presence_id({"visitor": "visitor-1"}, events.BOARD_CHANNEL) == "visitor-1"
    assert presence_id({"visitor": "v", "name": "alice"}, events.BOARD_CHANNEL) == "alice"
    assert presence_id({"visitor": "visitor-1"}, "other") is None
    assert presence_id({}, events.BOARD_CHANNEL) is None
