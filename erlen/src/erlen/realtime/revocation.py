"""Closing the websockets of revoked logins, on every realtime replica, within moments.

A websocket is authenticated once, at the handshake; logging out later would leave it
open, still receiving the user's events. So revocations travel like events: the web side
publishes them on the broker's reserved :data:`CONTROL_CHANNEL` (``erlen.ext.realtime``
does it for every ``erlen.ext.login`` revocation), each realtime server listens there and
closes the matching connections with close code :data:`CLOSE_REVOKED`. A browser client
must not reconnect after that code: its handshake would be refused anyway.

Two kinds of revocation, matching the login extension's session keys:

- logins ended one by one (``logout_user()``): their session ids (``_sid``);
- every session of a user older than an epoch (``logout_user(everywhere=True)``, a
  password change, a deactivated account): the user id (``_user_id``) and the new
  epoch (sessions whose ``_epoch`` is lower are revoked).

The handshake checks the same revocations in the login extension's store
(:class:`~erlen.realtime.auth.SessionCookieAuth`'s ``revocations``), so a copied cookie
can't open a new socket after the event went by.
"""

from __future__ import annotations

import json
import typing as t

#: The channel revocations travel on. Clients can't subscribe to channels under
#: :data:`RESERVED_PREFIX`.
CONTROL_CHANNEL = "_erlen.control"

#: Channels starting with this are the server's own.
RESERVED_PREFIX = "_erlen."

#: The close code of a connection whose login was revoked (a private-use code, after
#: HTTP's 401). Clients should not reconnect on it.
CLOSE_REVOKED = 4401

#: The session keys ``erlen.ext.login`` writes: the login's id, the user's id, and the
#: user's session epoch at login.
SESSION_ID_KEY = "_sid"
USER_ID_KEY = "_user_id"
EPOCH_KEY = "_epoch"

_EVENT = "revoke"


class Revocations(t.Protocol):
    """What the handshake asks of a revocation store (``erlen.ext.login``'s stores)."""

    def is_revoked(self, session_id: str) -> bool:
        """Whether the login ``session_id`` was revoked."""

    def epoch_floor(self, user_id: str) -> int:
        """The lowest session epoch of ``user_id`` still honoured."""


def sessions_revoked_event(session_ids: t.Iterable[str]) -> dict[str, t.Any]:
    """The control event revoking the logins ``session_ids``."""
    return {"event": _EVENT, "data": {"sessions": [str(s) for s in session_ids]}}


def user_revoked_event(user_id: str, epoch: int) -> dict[str, t.Any]:
    """The control event revoking every session of ``user_id`` below ``epoch``."""
    return {"event": _EVENT, "data": {"user": str(user_id), "epoch": int(epoch)}}


class Revocation:
    """A received revocation, ready to test sessions against.

    :param payload: the control event as the broker carried it (JSON bytes).
    :raise ValueError: the payload is not a revocation.
    """

    __slots__ = ("sessions", "user", "epoch")

    def __init__(self, payload: bytes | str) -> None:
        event = json.loads(payload)  # a JSONDecodeError is a ValueError too
        if not isinstance(event, dict) or event.get("event") != _EVENT:
            raise ValueError("not a revocation event")
        data = event.get("data")
        if not isinstance(data, dict):
            raise ValueError("a revocation event without data")
        sessions = data.get("sessions")
        self.sessions = frozenset(s for s in sessions if isinstance(s, str)) if sessions else None
        user, epoch = data.get("user"), data.get("epoch")
        self.user = user if isinstance(user, str) and type(epoch) is int else None
        self.epoch = epoch if self.user is not None else None

    def matches(self, session: t.Mapping[str, t.Any]) -> bool:
        """Whether ``session`` (a connection's authenticated session) is revoked by this."""
        if self.sessions is not None and session.get(SESSION_ID_KEY) in self.sessions:
            return True
        if self.user is None or str(session.get(USER_ID_KEY)) != self.user:
            return False
        return _epoch(session) < t.cast(int, self.epoch)


def session_is_revoked(session: t.Mapping[str, t.Any], store: Revocations) -> bool:
    """Whether a session's login was revoked in ``store`` (no login: never).

    One or two lookups, and only for sessions that carry a login.
    """
    session_id = session.get(SESSION_ID_KEY)
    if isinstance(session_id, str) and store.is_revoked(session_id):
        return True
    user_id = session.get(USER_ID_KEY)
    if user_id is None:
        return False
    return _epoch(session) < store.epoch_floor(str(user_id))


def _epoch(session: t.Mapping[str, t.Any]) -> int:
    epoch = session.get(EPOCH_KEY, 0)
    return epoch if type(epoch) is int else 0
