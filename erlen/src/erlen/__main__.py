"""Run the ``erlen`` command with ``python -m erlen``."""

from __future__ import annotations

from .cli import main

main()
