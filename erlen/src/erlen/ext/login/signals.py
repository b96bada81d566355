"""The signals the login extension sends, under Flask-Login's names.

Each is sent with the app as sender, and only when something listens.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A user was logged in with :func:`~erlen.ext.login.login_user`; ``user`` is passed.
user_logged_in = _signals.signal("logged-in")
#: A user was logged out with :func:`~erlen.ext.login.logout_user`; ``user`` is passed.
user_logged_out = _signals.signal("logged-out")
#: A user was restored from the remember-me cookie; ``user`` is passed.
user_loaded_from_cookie = _signals.signal("loaded-from-cookie")
#: A user was loaded by the request loader (a bearer token, say); ``user`` is passed.
user_loaded_from_request = _signals.signal("loaded-from-request")
#: A login was confirmed as fresh with :func:`~erlen.ext.login.confirm_login`.
user_login_confirmed = _signals.signal("login-confirmed")
#: A view needed a logged-in user and the request had none.
user_unauthorized = _signals.signal("unauthorized")
#: A view needed a fresh login and the session's was not.
user_needs_refresh = _signals.signal("needs-refresh")
#: The current user was looked up for the first time in a request.
user_accessed = _signals.signal("accessed")
#: Session protection noticed a different client using the session.
session_protected = _signals.signal("session-protected")
#: Every session of a user was revoked (``logout_user(everywhere=True)``,
#: :func:`~erlen.ext.login.revoke_sessions`); ``user``, ``user_id`` (a string) and
#: ``epoch`` (the user's new session epoch: sessions from older ones are revoked) are passed.
user_sessions_revoked = _signals.signal("sessions-revoked")
#: Logins were revoked one by one (:func:`~erlen.ext.login.logout_user`): ``session_ids``
#: is the list of their ids (the ``_sid`` session key). The realtime publisher forwards
#: both revocation signals so open websockets of those sessions are closed.
session_revoked = _signals.signal("session-revoked")
