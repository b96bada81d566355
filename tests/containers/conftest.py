"""The containers tier: ``make up`` for real with a Docker engine, tests through nginx, then
``make down``.

Not in the default ``pytest`` run (an engine and a from-scratch image build take minutes):
``make test-containers`` runs it, and CI calls that target. Without Docker, Compose v2 or an
engine it can start, the tier is skipped with the reason, except under ``CI=true``, where
that is a failure, as for every other tier.
"""

from __future__ import annotations

import os
import tempfile
import typing as t
from pathlib import Path

import pytest
from compose_stack import ComposeStack
from compose_stack import Unavailable

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_stack: ComposeStack | None = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "containers: make up for real (tests/containers)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.containers)
            # The first test also pays for the engine, the images and `make up`.
            item.add_marker(pytest.mark.timeout(1800))


@pytest.fixture(scope="session")
def compose_stack() -> t.Iterator[ComposeStack]:
    """The stack as `make up` starts it; released (only what the tier made) at the end."""
    global _stack
    log = Path(tempfile.mkstemp(prefix="erlen-containers-", suffix=".log")[1])
    stack = ComposeStack(log=log)
    try:
        stack.prepare_engine()
        stack.check_nothing_in_the_way()
    except Unavailable as e:
        stack.release()
        message = f"the containers tier cannot run: {e}"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
        pytest.skip("SKIPPED LOUDLY: " + message)
    _stack = stack
    try:
        stack.up()
        yield stack
    finally:
        _stack = None
        stack.release()
        _report_timings(stack)


_finished: list[ComposeStack] = []


def _report_timings(stack: ComposeStack) -> None:
    _finished.append(stack)


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    for stack in _finished:
        terminalreporter.section("containers tier: durations")
        for name, seconds in stack.timings.items():
            terminalreporter.write_line(f"{name:>24}: {seconds:6.1f} s")
        terminalreporter.write_line(f"{'commands and output':>24}: {stack.log}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> t.Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test that used the stack gets the services' log tails in its report."""
    report = yield
    if (
        report.failed
        and _stack is not None
        and isinstance(item, pytest.Function)
        and "compose_stack" in item.fixturenames
    ):
        report.sections.append(("compose service logs", _stack.logs()))
    return report
