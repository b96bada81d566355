"""scripts/audit_dependencies.py turns pip-audit's report into a verdict.

pip-audit's answers come from a vulnerability service outside our control, so these tests
feed the summary canned reports in pip-audit's JSON shape: a vulnerable package fails the
lint, an unreachable service is said loudly and fails only when the audit is required.
"""

from __future__ import annotations

import importlib.util
import typing as t
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_dependencies.py"


@pytest.fixture(scope="module")
def summarise() -> t.Any:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summarise


CLEAN = {"name": "werkzeug", "version": "3.1.9", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "2.4",
    "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "aliases": []}],
}
UNREACHABLE = {"name": "alembic", "skip_reason": "Dependency not found on PyPI"}


def test_a_vulnerable_package_fails_naming_the_advisory_and_the_fix(summarise: t.Any) -> None:
    lines, code = summarise([CLEAN, VULNERABLE], require=False)

    assert code == 1
    assert "audit: jinja2 2.4: PYSEC-2019-217 (fixed in: 2.10.1)" in lines
    assert lines[-1] == "audit: 1 of 2 locked packages are vulnerable."


def test_clean_packages_pass(summarise: t.Any) -> None:
    lines, code = summarise([CLEAN], require=True)

    assert (lines, code) == (["audit: no known vulnerabilities in 1 locked packages."], 0)


def test_nothing_audited_is_said_loudly_and_fails_when_required(summarise: t.Any) -> None:
    lines, code = summarise([UNREACHABLE], require=False)
    assert code == 0 and lines[0].startswith("audit: NOT AUDITED: none of the 1 locked")

    assert summarise([UNREACHABLE], require=True)[1] == 1


def test_partly_audited_names_what_was_not_checked(summarise: t.Any) -> None:
    lines, code = summarise([CLEAN, UNREACHABLE], require=False)

    assert code == 0
    assert lines == [
        "audit: no known vulnerabilities in 1 locked packages; 1 could not be checked: alembic."
    ]
    assert summarise([CLEAN, UNREACHABLE], require=True)[1] == 1
