"""The WSGI entry point for production servers: ``granian --interface wsgi web.wsgi:app``."""

from __future__ import annotations

from .app import create_app
from .logs import configure_logging

app = create_app()
configure_logging(app.config["LOG_LEVEL"])
