"""A test client that starts logged in (``flask_login.test_client``)."""

from __future__ import annotations

import typing as t

from ...testing import FlaskClient


class FlaskLoginClient(FlaskClient):
    """A test client whose session is logged in as ``user`` from the start::

    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=user)  # fresh_login=False for a stale login
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        user = kwargs.pop("user", None)
        fresh = kwargs.pop("fresh_login", True)
        super().__init__(*args, **kwargs)
        if user is not None:
            with self.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = fresh


#: erlen's name for it.
LoginClient = FlaskLoginClient
