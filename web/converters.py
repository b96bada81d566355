"""URL converters: ``<slug:room>`` matches a room's address and nothing else, so a
malformed one is a plain 404 before any view runs (and ``url_for`` refuses to build one)."""

from __future__ import annotations

from erlen import Erlen
from werkzeug.routing import BaseConverter

from .services.rooms import SLUG_PATTERN


class SlugConverter(BaseConverter):
    """A room's slug: lower-case letters, digits and inner dashes."""

    regex = SLUG_PATTERN


def init_converters(app: Erlen) -> None:
    """Register the converters; before any blueprint's rules are added."""
    app.url_map.converters["slug"] = SlugConverter
