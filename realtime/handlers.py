"""Who may subscribe and publish on which channel. Channel and event names come from
:mod:`web.events`."""

from __future__ import annotations

import typing as t

from web import events
from web.visitors import NAME_KEY


def _visitor(session: t.Mapping[str, t.Any] | None) -> str | None:
    """The name the page shows for this session: the user's, else the visitor id."""
    if not session:
        return None
    for key in (NAME_KEY, "visitor"):
        name = session.get(key)
        if isinstance(name, str) and name:
            return name
    return None


def authorize(session: t.Mapping[str, t.Any] | None, channel: str) -> bool:
    """Only visitors who have loaded the board (and so have a session) may subscribe to it."""
    return channel == events.BOARD_CHANNEL and _visitor(session) is not None


def presence_id(session: t.Mapping[str, t.Any] | None, channel: str) -> str | None:
    """Who a subscriber counts as in the board's "here" list: the name the page shows."""
    return _visitor(session) if channel == events.BOARD_CHANNEL else None


def on_publish(
    session: t.Mapping[str, t.Any] | None, channel: str, event: str, data: t.Any
) -> dict[str, t.Any] | None:
    """Relay a client's ephemeral event (``typing``) to the channel, stamped with who sent it.

    The client's own data is dropped: the visitor's name comes from the signed session, so
    nobody can type as someone else.
    """
    visitor = _visitor(session)
    if visitor is None or channel != events.BOARD_CHANNEL or event not in events.CLIENT_EVENTS:
        return None
    return {"event": event, "data": {"visitor": visitor}}
