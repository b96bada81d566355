"""What templates get beyond Jinja's own: filters, and the values every page needs."""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import UTC

from erlen import current_app
from erlen import Erlen
from erlen.ext.login import current_user
from markupsafe import escape
from markupsafe import Markup
from sqlalchemy import exc as sa_exc

from .extensions import db
from .services.room_messages import MENTION
from .services.rooms import joined_rooms


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    """``"just now"``, ``"5 min ago"``, ``"3 h ago"``, else the date (``"2026-12-04"``)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # a naive time is taken as UTC, as the database stores
        moment = moment.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    return moment.date().isoformat()


def with_mentions(body: str) -> Markup:
    """The text, escaped, with each ``@username`` wrapped in ``<span class="mention">``."""
    parts = []
    last = 0
    for match in MENTION.finditer(body):
        parts.append(str(escape(body[last : match.start()])))
        parts.append(f'<span class="mention">{escape(match.group(0))}</span>')
        last = match.end()
    parts.append(str(escape(body[last:])))
    return Markup("".join(parts))


def _joined_rooms() -> list[t.Any]:
    """The signed-in user's rooms, for the navigation (none for visitors).

    Asked for by the layout as it renders, so pages that don't show it cost no query. An
    error page must render while the database is down: then the list is just left out.
    """
    if not current_user.is_authenticated:
        return []
    try:
        return list(joined_rooms(session=db.session, user_id=int(current_user.id)))
    except sa_exc.DBAPIError:
        db.session.rollback()
        return []


def layout_values() -> dict[str, t.Any]:
    """What the base layout needs on every page (and mail): the site's name (``SITE_NAME``),
    the user's rooms."""
    return {"site_name": current_app.config["SITE_NAME"], "joined_rooms": _joined_rooms}


def init_templating(app: Erlen) -> None:
    app.add_template_filter(relative_time)
    app.add_template_filter(with_mentions, "mentions")
    app.context_processor(layout_values)
