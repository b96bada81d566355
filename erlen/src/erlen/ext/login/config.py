"""Defaults, under Flask-Login's names (``flask_login.config``).

The app's config wins for each (``REMEMBER_COOKIE_NAME``, ``REMEMBER_COOKIE_DURATION``, ...).
"""

from __future__ import annotations

from datetime import timedelta

#: The name of the remember cookie (``REMEMBER_COOKIE_NAME``).
COOKIE_NAME = "remember_token"
#: How long the remember cookie lasts (``REMEMBER_COOKIE_DURATION``).
COOKIE_DURATION = timedelta(days=365)
#: Whether the remember cookie is HTTPS-only (``REMEMBER_COOKIE_SECURE``).
COOKIE_SECURE = False
#: Whether scripts can't read the remember cookie (``REMEMBER_COOKIE_HTTPONLY``).
COOKIE_HTTPONLY = True
#: The remember cookie's SameSite (``REMEMBER_COOKIE_SAMESITE``). Flask-Login sets none;
#: erlen sends ``Lax``, which keeps it off cross-site POSTs.
COOKIE_SAMESITE = "Lax"
#: Flashed when a login is required.
LOGIN_MESSAGE = "Please log in to access this page."
LOGIN_MESSAGE_CATEGORY = "message"
#: Flashed when a fresh login is required.
REFRESH_MESSAGE = "Please reauthenticate to access this page."
REFRESH_MESSAGE_CATEGORY = "message"
#: The user method giving the id kept in the session.
ID_ATTRIBUTE = "get_id"
#: The request header a request loader may read (``AUTH_HEADER_NAME``).
AUTH_HEADER_NAME = "Authorization"
#: The session keys of a login; logging out removes them.
SESSION_KEYS = {
    "_user_id",
    "_remember",
    "_remember_seconds",
    "_id",
    "_fresh",
    "next",
    "_sid",
    "_epoch",
    "_rexp",
}
#: Methods that never need a login: CORS preflight requests carry no credentials.
EXEMPT_METHODS = {"OPTIONS"}
#: Keep the page to come back to in the session rather than the URL
#: (``USE_SESSION_FOR_NEXT``).
USE_SESSION_FOR_NEXT = False
