"""erlen.pytest_tiers: a missing service skips loudly, or fails in CI; tests are marked by need.

Each behaviour is checked by running pytest on a small test file (pytester), as a project
using the plugin would, and reading the outcome and the report.
"""

from __future__ import annotations

import socket

import pytest

from erlen.pytest_tiers import _ephemeral_ports
from erlen.pytest_tiers import in_ci
from erlen.pytest_tiers import mark_services
from erlen.pytest_tiers import require_service
from erlen.pytest_tiers import service_port

MISSING_REDIS = """
import pytest
from erlen.pytest_tiers import require_service

@pytest.mark.redis
def test_uses_redis():
    require_service("redis", "Redis is not reachable at 127.0.0.1:1", remedy="Start it.")
"""


def run_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None, *args: str
) -> pytest.RunResult:
    """Run pytest with the plugin on the files made so far, with ``CI`` set to ``ci``."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_inprocess("-p", "erlen.pytest_tiers", "-ra", *args)


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE", "Yes", " true "])
def test_ci_means_1_true_or_yes_in_any_case(value: str) -> None:
    assert in_ci({"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "0"}, {"CI": "false"}, {"CI": "No"}])
def test_not_ci_when_unset_empty_0_false_or_no(environ: dict[str, str]) -> None:
    assert not in_ci(environ)


def test_any_other_ci_value_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="CI='on' is neither true"):
        in_ci({"CI": "on"})


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_a_missing_service_skips_loudly_outside_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    pytester.makepyfile(MISSING_REDIS)
    result = run_pytest(pytester, monkeypatch, ci)
    result.assert_outcomes(skipped=1)
    # -ra puts the reason in the short summary, where a reader of the run sees it.
    result.stdout.fnmatch_lines(
        ["SKIPPED * SKIPPED LOUDLY: Redis is not reachable at 127.0.0.1:1. Start it."]
    )


@pytest.mark.parametrize("ci", ["1", "true", "yes", "TRUE"])
def test_a_missing_service_fails_in_ci_and_never_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    pytester.makepyfile(MISSING_REDIS)
    result = run_pytest(pytester, monkeypatch, ci)
    result.assert_outcomes(failed=1, skipped=0)
    result.stdout.fnmatch_lines([f"*Redis is not reachable at 127.0.0.1:1.*CI={ci} requires*"])


def test_an_unknown_ci_value_stops_the_run_before_any_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old checks read CI=1 as "not CI" in one place: a value the helper can't read must
    # not quietly become a skip.
    pytester.makepyfile(MISSING_REDIS)
    result = run_pytest(pytester, monkeypatch, "on")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*CI='on' is neither true (1, true, yes) nor false*"])


def test_a_reachable_service_lets_the_test_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from erlen.pytest_tiers import require_service

        @pytest.mark.postgres
        def test_uses_postgres():
            require_service("postgres", None)
        """
    )
    run_pytest(pytester, monkeypatch, "true").assert_outcomes(passed=1)


def test_a_test_using_a_service_without_its_marker_fails_even_when_it_is_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unmarked, it would run in the tier without services and fail (or skip) there.
    pytester.makepyfile(
        """
        from erlen.pytest_tiers import require_service

        def test_uses_redis_unmarked():
            require_service("redis", None)
        """
    )
    result = run_pytest(pytester, monkeypatch, None)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_uses_redis_unmarked uses redis without the marker*"])


SERVICE_FIXTURES = """
import pytest
from erlen.pytest_tiers import mark_services

def pytest_collection_modifyitems(items):
    mark_services(items, {"database[postgresql]": "postgres", "stack": ("redis", "nginx")})

@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    return request.param

@pytest.fixture
def stack():
    return "stack"
"""

TESTS_OF_EACH_KIND = """
import pytest

def test_database(database):
    pass

def test_stack(stack):
    pass

@pytest.mark.browser
def test_browser():
    pass

def test_plain():
    pass
"""


def test_the_tier_without_services_leaves_out_what_fixtures_and_markers_need(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(SERVICE_FIXTURES)
    pytester.makepyfile(TESTS_OF_EACH_KIND)
    result = run_pytest(pytester, monkeypatch, None, "-m", "not services", "-v")
    result.assert_outcomes(passed=2, deselected=3)
    result.stdout.fnmatch_lines_random(
        ["*::test_database[[]sqlite[]] PASSED*", "*::test_plain PASSED*"]
    )


def test_the_services_tier_is_what_the_other_leaves_out(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(SERVICE_FIXTURES)
    pytester.makepyfile(TESTS_OF_EACH_KIND)
    result = run_pytest(pytester, monkeypatch, None, "-m", "services", "-v")
    result.assert_outcomes(passed=3, deselected=2)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_database[[]postgresql[]] PASSED*",
            "*::test_stack PASSED*",
            "*::test_browser PASSED*",
        ]
    )


def test_each_service_can_be_selected_by_its_own_marker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(SERVICE_FIXTURES)
    pytester.makepyfile(TESTS_OF_EACH_KIND)
    result = run_pytest(pytester, monkeypatch, None, "-m", "nginx", "-v")
    result.assert_outcomes(passed=1, deselected=4)
    result.stdout.fnmatch_lines(["*::test_stack PASSED*"])


def test_the_report_ends_with_the_time_of_each_tier(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(SERVICE_FIXTURES)
    pytester.makepyfile(TESTS_OF_EACH_KIND)
    result = run_pytest(pytester, monkeypatch, None)
    result.stdout.fnmatch_lines(
        [
            "time per tier: no services: 2 tests in *.* s; browser: 1 tests in *.* s;"
            " postgres: 1 tests in *.* s; redis+nginx: 1 tests in *.* s"
        ]
    )


def test_unknown_services_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown services"):
        require_service("mongodb", None)
    with pytest.raises(ValueError, match="unknown services"):
        mark_services([], {"mongo_url": "mongodb"})


def test_service_ports_are_free_distinct_and_never_ephemeral() -> None:
    ephemeral = _ephemeral_ports()
    ports = [service_port() for _ in range(50)]

    assert len(set(ports)) == len(ports)
    assert not any(port in ephemeral for port in ports)
    for port in ports:  # each one binds: nothing held it
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
