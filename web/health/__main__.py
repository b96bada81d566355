"""``python -m web.health URL``: exit 0 when ``URL`` answers 2xx, 1 otherwise."""

from __future__ import annotations

import sys

from .probe import main

sys.exit(main(sys.argv[1:]))
