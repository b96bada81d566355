"""Test tiers for pytest: a test marks the services it needs; one helper skips or fails.

Load it with ``-p erlen.pytest_tiers`` (e.g. in ``addopts``). It gives a project:

- a marker per service (:data:`SERVICES`), plus the ``services`` marker on every test that
  has one of them, so ``pytest -m "not services"`` is the tier that needs nothing running;
- :func:`mark_services`, which marks tests from the fixtures they use, so test files rarely
  need a marker of their own;
- :func:`require_service`, the one place that decides what a missing service means: the test
  is skipped with a loud reason, except in CI (:func:`in_ci`), where it fails;
- a line at the end of the run with the time each tier took;
- :func:`service_port`, a port for a service a test starts itself.

See ``docs/testing.md``.
"""

from __future__ import annotations

import os
import random
import socket
import typing as t
from collections import defaultdict
from pathlib import Path

import pytest

#: The services a test can need, each a marker, with its description.
SERVICES: dict[str, str] = {
    "postgres": "needs a real Postgres server",
    "redis": "needs a real Redis server",
    "nginx": "needs nginx (the real stack as local processes)",
    "browser": "needs a real browser (chromium)",
    "processes": "starts the application as real processes (e.g. make dev)",
}

#: The marker every test with a service marker also gets.
SERVICES_MARKER = "services"

# What the CI variable may say. Anything else is refused rather than guessed at: a CI that
# sets CI=on and gets skips instead of failures would pass without having run those tests.
_CI_TRUE = frozenset({"1", "true", "yes"})
_CI_FALSE = frozenset({"", "0", "false", "no"})


def in_ci(environ: t.Mapping[str, str] | None = None) -> bool:
    """Whether this is a CI run: the ``CI`` variable is ``1``, ``true`` or ``yes``.

    Case and surrounding spaces don't matter. Unset, empty, ``0``, ``false`` and ``no``
    mean not CI.

    :param environ: The environment to read; ``os.environ`` by default.
    :raises ValueError: ``CI`` has any other value.
    """
    value = (os.environ if environ is None else environ).get("CI", "")
    normalized = value.strip().lower()
    if normalized in _CI_TRUE:
        return True
    if normalized in _CI_FALSE:
        return False
    raise ValueError(
        f"CI={value!r} is neither true (1, true, yes) nor false (unset, empty, 0, false, no)."
    )


# The test being run, innermost last: pytest can run inside a test (pytester), and each run
# must see its own test.
_running: list[pytest.Item] = []


def require_service(
    service: str | t.Collection[str], problem: str | None, *, remedy: str = ""
) -> None:
    """Let the running test use a service, or stop it.

    Call it from the fixture that provides the service, after probing it. When ``problem``
    is ``None`` the service is there and the test goes on. Otherwise the test is skipped
    with a reason starting ``SKIPPED LOUDLY``, or, when :func:`in_ci`, it fails: a CI run
    must not pass without having run every tier.

    The running test must carry the service's marker (set by hand or by
    :func:`mark_services`); a test without it fails whatever the service's state, because
    the tier without services would run it.

    :param service: One of :data:`SERVICES`, or several that are needed together.
    :param problem: Why the service can't be used (e.g. the connection error), or ``None``.
    :param remedy: What would make it available, added to the reason.
    """
    services = [service] if isinstance(service, str) else list(service)
    unknown = [name for name in services if name not in SERVICES]
    if unknown:
        raise ValueError(f"Unknown services {unknown}; known: {', '.join(SERVICES)}.")
    item = _running[-1] if _running else None
    unmarked = [name for name in services if item and item.get_closest_marker(name) is None]
    if item is not None and unmarked:
        pytest.fail(
            f"{item.nodeid} uses {' and '.join(unmarked)} without the marker: mark it"
            f" (@pytest.mark.{unmarked[0]}, or map its fixture in the conftest's"
            " mark_services), or the tier without services would run it.",
            pytrace=False,
        )
    if problem is None:
        return
    reason = f"{problem.rstrip('.')}." + (f" {remedy}" if remedy else "")
    if in_ci():
        pytest.fail(
            f"{reason} CI={os.environ['CI']} requires every service: this is a failure.",
            pytrace=False,
        )
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def mark_services(
    items: t.Iterable[pytest.Item], needs: t.Mapping[str, str | t.Iterable[str]]
) -> None:
    """Mark each test with the services its fixtures need.

    Call it from ``pytest_collection_modifyitems`` in a conftest. ``needs`` maps a fixture
    name, or ``"fixture[param]"`` for one value of a parametrized fixture, to a service or
    services. A test using ``database_url`` parametrized ``["sqlite", "postgresql"]`` with
    ``{"database_url[postgresql]": "postgres"}`` has only its Postgres variant marked.

    Only fixtures in the test's fixture closure are seen: a fixture fetched at run time with
    ``request.getfixturevalue`` is not, so map the parametrized fixture that fetches it.
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for key, value in needs.items():
        services = {value} if isinstance(value, str) else set(value)
        unknown = services - SERVICES.keys()
        if unknown:
            raise ValueError(f"{key!r} needs unknown services {sorted(unknown)}.")
        wanted[key] |= services
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        keys = set(getattr(item, "fixturenames", ()))
        keys |= {f"{name}[{value}]" for name, value in params.items() if isinstance(value, str)}
        for key in sorted(keys & wanted.keys()):
            for service in sorted(wanted[key]):
                if item.get_closest_marker(service) is None:
                    item.add_marker(service)
            _add_services_marker(item)


def _add_services_marker(item: pytest.Item) -> None:
    # Here rather than once after every conftest: -m deselects in a collection hook that runs
    # before ours could run last.
    if item.get_closest_marker(SERVICES_MARKER) is None:
        item.add_marker(SERVICES_MARKER)


def _services_of(item: pytest.Item) -> list[str]:
    return [name for name in SERVICES if item.get_closest_marker(name) is not None]


class _Plugin:
    """The hooks; one instance per pytest run, so runs inside a test keep their own state."""

    def __init__(self) -> None:
        self.tiers: dict[str, str] = {}
        self.durations: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Tests marked by hand; mark_services, called from conftests, does its own.
        for item in items:
            if _services_of(item):
                _add_services_marker(item)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After every collection hook, so the markers conftests added are all there.
        for item in session.items:
            self.tiers[item.nodeid] = "+".join(_services_of(item)) or "no services"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> t.Generator[None, object, object]:
        _running.append(item)
        try:
            return (yield)
        finally:
            _running.pop()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        tier = self.tiers.get(report.nodeid)
        if tier is None:
            return
        self.durations[tier] += report.duration
        if report.when == "teardown":
            self.counts[tier] += 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.counts:
            return
        parts = [
            f"{tier}: {self.counts[tier]} tests in {self.durations[tier]:.1f} s"
            for tier in sorted(self.counts, key=lambda name: (name != "no services", name))
        ]
        terminalreporter.write_line("time per tier: " + "; ".join(parts))


def pytest_configure(config: pytest.Config) -> None:
    # A bad CI value stops the run before any test, rather than in the first fixture.
    try:
        in_ci()
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    for name, description in SERVICES.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.addinivalue_line(
        "markers", f"{SERVICES_MARKER}: needs one of the services above (set automatically)"
    )
    config.pluginmanager.register(_Plugin(), "erlen-pytest-tiers")


# -- ports for the services tests start --------------------------------------------------------

_handed_out: set[int] = set()


def _ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections and to ``bind(port 0)``."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)  # Linux's default


def service_port() -> int:
    """A free port for a service a test starts (a server process, a private Redis).

    A port from ``bind(port 0)`` is in the kernel's ephemeral range: between picking it and
    the service binding it (or binding it again after a restart the test causes), any
    outgoing connection — to Postgres, to Redis, a health check — may be given the same
    port, and the service fails with "address in use" (CI saw it). Ports below that range
    are only ever taken by someone asking for them by number. No port is handed out twice
    in one test run.
    """
    ephemeral = _ephemeral_ports()
    candidates = [
        port for port in range(20000, 32768) if port not in ephemeral and port not in _handed_out
    ]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port between 20000 and 32767 for a test's service")
