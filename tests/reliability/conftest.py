"""The reliability tier: the stack attacked from outside, through nginx (``make test-reliability``).

The proof of the reliability table in ``research/perf_reliability.md`` ("Proposed
reliability and security tests"), one test (or two) per row, plus the holes of issue 8:

- R1, slowloris: others served, attack sockets closed:
    test_slow_clients::test_slow_headers_are_cut_off_while_others_are_served
- R2, slow body: web never blocked, silence cut off, per-address cap:
    test_slow_clients::test_a_trickled_body_never_reaches_web_and_silence_cuts_it
    ::test_one_address_holds_at_most_64_slow_requests
- R3, oversize bodies: 413 before reading, memory flat:
    test_bodies::test_oversize_bodies_are_refused_before_they_are_read
- R4, multipart DoS shapes:
    test_bodies::test_multipart_abuse_is_refused_quickly
- R5, Host spoofing:
    test_http_security::test_a_spoofed_host_is_refused_and_never_echoed
- R6, session tamper, fixation, replay after logout:
    test_http_security::test_session_tamper_fixation_and_replay_after_logout
- R7, Vary: Cookie:
    test_http_security::test_every_response_that_reads_the_session_varies_on_cookie
- R8, CSRF:
    test_http_security::test_state_changing_requests_need_the_sessions_csrf_token
- R9, security headers, cookie flags:
    test_http_security::test_security_headers_on_pages_and_static_files_and_cookie_flags
- R10, login brute force, argon2id:
    test_login_limits::test_failed_logins_on_one_account_are_throttled
    ::test_nginx_limits_login_attempts_per_address
- R11, no debugger:
    test_http_security::test_no_debugger_is_reachable
- R12, websocket oversize frame: 1009:
    test_websockets::test_an_oversize_frame_closes_the_socket_with_1009
- R13, websocket Origin / session:
    test_websockets::test_handshakes_from_foreign_origins_or_without_a_session_are_refused
- R14, websocket slow reader:
    test_websockets::test_a_slow_reader_is_dropped_and_nobody_else_loses_an_event
- R15, websockets per address: 429:
    test_websockets::test_one_address_opens_at_most_32_websockets
- R16, worker SIGKILL: nothing lost:
    test_jobs::test_worker_killed_mid_job_loses_nothing
- R17, failing job dead-lettered:
    test_jobs::test_a_failing_job_is_retried_then_dead_lettered_with_its_traceback
- R18, Redis restart: websockets stay, fan-out resumes:
    test_redis_restart::test_websockets_stay_open_and_fan_out_resumes_after_a_redis_restart
- R19, Redis crash under queue load:
    test_redis_restart::test_jobs_enqueued_before_a_redis_crash_are_kept_and_failures_are_reported
- R20, Postgres connections killed under load: success or 503, logs agree:
    test_postgres::test_killed_database_connections_give_success_or_503_never_an_empty_500
- R21, SIGTERM: web's in-flight requests, the worker's running job:
    test_graceful::test_sigterm_lets_in_flight_requests_finish
    test_jobs::test_sigterm_lets_the_running_job_finish
- R22, dependency floor:
    test_dependencies::test_the_stack_runs_on_patched_dependencies

The holes issue 8 found, each closed:

- ten failed logins from one address never lock out another:
    test_login_limits::test_failed_logins_from_one_address_never_lock_out_another
- posts while Redis is down: no 500, each 2xx processed once:
    test_redis_restart::test_posts_while_redis_is_down_succeed_and_are_processed_once_it_is_back
- NUL, lone surrogate, huge ids: 4xx, no traceback:
    test_bad_input::test_bad_input_is_refused_with_a_4xx_and_no_traceback
- production refuses debug and weak secrets, listing all:
    test_http_security::test_production_refuses_debug_and_weak_secrets_listing_them_all

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
