"""The audit log: erlen.ext.login's signals, written down as :class:`AuditEvent` rows.

Signals keep this out of the views: whichever way a user signs in or out (the form, a
remember cookie's new session, "log out everywhere", a password change, a deactivation),
the login extension says so and this module records it. A failure to record never fails the
sign-in: it is logged instead.
"""

from __future__ import annotations

import logging
import typing as t
from datetime import datetime
from datetime import UTC

from erlen import Erlen
from erlen import has_request_context
from erlen import request
from erlen.ext.login import user_logged_in
from erlen.ext.login import user_logged_out
from erlen.ext.login import user_sessions_revoked
from erlen.ext.sqlalchemy import SessionLike
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from .extensions import db
from .models import AuditEvent
from .models.audit import LOGIN
from .models.audit import LOGOUT
from .models.audit import SESSIONS_REVOKED

log = logging.getLogger(__name__)

#: ``app.extensions`` key: the apps that keep an audit log (signals are process-wide).
EXTENSION_KEY = "starter.audit"


def record(app: Erlen, user: t.Any, action: str) -> None:
    """Add an event for ``user`` to the request's database session and commit it."""
    if EXTENSION_KEY not in app.extensions or user is None:
        return
    user_id = getattr(user, "id", None)
    if not isinstance(user_id, int):
        return
    ip = request.remote_addr if has_request_context() else None
    try:
        db.session.add(AuditEvent(user_id=user_id, action=action, ip=ip, at=datetime.now(UTC)))
        db.session.commit()
    except sa_exc.SQLAlchemyError as e:
        db.session.rollback()
        log.warning("Could not record %s for user %s in the audit log: %s", action, user_id, e)


def _logged_in(app: Erlen, user: t.Any = None, **_: t.Any) -> None:
    record(app, user, LOGIN)


def _logged_out(app: Erlen, user: t.Any = None, **_: t.Any) -> None:
    record(app, user, LOGOUT)


def _sessions_revoked(app: Erlen, user: t.Any = None, **_: t.Any) -> None:
    record(app, user, SESSIONS_REVOKED)


# Connected once, for every app of the process; record() keeps to the apps that asked.
user_logged_in.connect(_logged_in)
user_logged_out.connect(_logged_out)
user_sessions_revoked.connect(_sessions_revoked)


def init_audit(app: Erlen) -> None:
    """Keep an audit log for ``app``."""
    app.extensions[EXTENSION_KEY] = True


def recent(*, session: SessionLike, user_id: int, limit: int = 10) -> list[AuditEvent]:
    """The user's latest events, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
