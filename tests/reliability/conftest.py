"""The reliability tier: the stack attacked from outside, through nginx (``make test-reliability``).

One stack for the whole tier (``rstack``): nginx, web, two realtime replicas and a worker
over the machine's Postgres and a **private redis-server** on its own port, so tests may
kill and restart Redis without touching the machine's. ``TRUSTED_HOSTS`` is set, as in
production. Tests that stop a service start it again before they end.

Each test prints its figures (latencies, seconds to recover, counts) with the ``figure``
fixture; they are listed together at the end of the run. Nothing asserts a time: only
outcomes (status codes, nothing lost, nobody locked out, memory bounded). Every client
sits on loopback, most on an address of its own (127.1.x.y), so nginx's per-address limits
don't mix one test's traffic with another's.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from outside import Figure


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def rstack() -> t.Iterator[t.Any]:
    """The stack for this tier (see the module docstring). Postgres, redis-server and nginx
    missing skip the tier loudly, and fail it under CI=true (erlen.pytest_tiers)."""
    global _running
    from erlen.pytest_tiers import require_service
    from stack import missing_services
    from stack import Stack

    missing = missing_services(private_redis=True)
    problem = "The reliability tier needs " + ", ".join(missing) if missing else None
    # The same services tests/conftest.py's SERVICE_FIXTURES gives "rstack" as markers.
    require_service(("postgres", "redis", "nginx"), problem)
    with Stack(
        realtime_replicas=2,
        private_redis=True,
        env_overrides={"TRUSTED_HOSTS": "127.0.0.1"},
    ) as running:
        _running = running
        yield running
        _running = None


_running: t.Any = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> t.Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test gets each service's log tail in its report."""
    report = yield
    if (
        report.failed
        and _running is not None
        and isinstance(item, pytest.Function)
        and "rstack" in item.fixturenames
    ):
        report.sections.append(("stack service logs", _running.logs()))
    return report


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    """``figure("p99 /healthz during the attack", "12.3 ms")``: printed in the "reliability
    figures" section at the end of the run, under the test's name and outcome."""

    def record(name: str, value: t.Any) -> None:
        request.node.user_properties.append(("figure", f"{name}: {value}"))

    return record


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            figures = [v for k, v in getattr(report, "user_properties", ()) if k == "figure"]
            if figures:
                name = report.nodeid.split("::")[-1]
                lines.append(f"{name} [{report.outcome}]")
                lines.extend(f"    {f}" for f in figures)
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
