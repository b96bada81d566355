"""The WSGI entry point for production servers: ``granian --interface wsgi web.wsgi:app``."""

from __future__ import annotations

from .entrypoint import load_app

app = load_app()
