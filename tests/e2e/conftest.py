"""The e2e tier: headless Chromium (Debian's package, driven by Playwright) through nginx.

Playwright's own browser download is not used: the browser is the system's ``chromium``.
A missing browser skips the tier with the reason, except in CI (``erlen.pytest_tiers``).
"""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

import pytest
from erlen.pytest_tiers import require_service

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Module scope: Playwright's sync API keeps an event loop running in the main thread while
# it is open, which would break asyncio.run() in tests collected after this tier.
@pytest.fixture(scope="module")
def browser() -> t.Iterator[t.Any]:
    path = chromium_path()
    require_service(
        "browser",
        None if path else "The e2e tier needs chromium",
        remedy="apt-get install chromium",
    )
    assert path is not None  # require_service returned: chromium is there
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
