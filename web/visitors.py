"""Who is posting: a user's name, or an anonymous visitor id kept in the session cookie.

The realtime service reads the same cookie to authenticate the websocket, so a visitor is
known to both without a database lookup. Visitor ids are random and never a username, so a
session (or a copied cookie) can't post or type as somebody else after logging out.
"""

from __future__ import annotations

import secrets

from erlen import session
from erlen.ext.login import current_user


def current_visitor() -> str:
    """The visitor's name, creating one on first use."""
    name = session.get("visitor")
    if not isinstance(name, str) or not name:
        name = f"visitor-{secrets.token_hex(3)}"
        session["visitor"] = name
        session.permanent = True
    return name


#: The session key holding the name the page shows (the user's, else the visitor id): the
#: realtime service reads it for typing and presence, without a database.
NAME_KEY = "name"


def remember_name() -> str:
    """Keep the name the page shows in the session, for the realtime service; return it."""
    name = current_author()
    if session.get(NAME_KEY) != name:
        session[NAME_KEY] = name
    return name


def current_author() -> str:
    """The name a post goes out under: the logged-in user's, else the visitor id."""
    if current_user.is_authenticated:
        return str(current_user.username)
    return current_visitor()
