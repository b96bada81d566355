"""Who is posting: a name kept in the signed session cookie.

The realtime service reads the same cookie to authenticate the websocket, so a visitor is
known to both without a database lookup. (Accounts come with the login extension.)
"""

from __future__ import annotations

import secrets

from erlen import session


def current_visitor() -> str:
    """The visitor's name, creating one on first use."""
    name = session.get("visitor")
    if not isinstance(name, str) or not name:
        name = f"visitor-{secrets.token_hex(3)}"
        session["visitor"] = name
        session.permanent = True
    return name
