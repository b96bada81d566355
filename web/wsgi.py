"""The WSGI entry point for production servers: ``granian --interface wsgi web.wsgi:app``."""

from __future__ import annotations

from . import create_app

app = create_app()
