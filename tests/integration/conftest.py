"""The integration tier: the real stack as local processes, spoken to through nginx.

Needs Postgres and Redis on loopback and the nginx binary. Missing any of them skips the
tier with the reason, except under ``CI=true``, where it fails: CI proves every tier.
A failing test's report ends with each service's log tail.
"""

from __future__ import annotations

import os
import sys
import typing as t
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack  # noqa: E402
from stack import missing_services  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_current: Stack | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> t.Iterator[Stack]:
    global _current
    missing = missing_services()
    if missing:
        message = "integration tier needs " + ", ".join(missing)
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
        pytest.skip("SKIPPED LOUDLY: " + message)
    with Stack(realtime_replicas=2) as running:
        _current = running
        yield running
        _current = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> t.Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _current is not None:
        report.sections.append(("stack service logs", _current.logs()))
