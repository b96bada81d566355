"""The WSGI entry point for production servers: ``granian --interface wsgi web.wsgi:app``.

Also what ``erlen --app web.wsgi ...`` (the migrate job, ``make up-dev``) loads: a bad
setting ends the process with one line and exit status 2, as the ``python -m`` entry points
do, instead of an import traceback.
"""

from __future__ import annotations

import sys

from .config import ConfigError
from .entrypoint import CONFIG_ERROR
from .entrypoint import load_app

try:
    app = load_app()
except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    raise SystemExit(CONFIG_ERROR) from None
