"""The integration tier: the real stack as local processes, spoken to through nginx.

The ``stack`` fixture lives in tests/conftest.py (the e2e tier uses it too). Everything
collected here is marked ``integration``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.integration)
