"""The type checks in ``tests/type_check/`` pass under the project's mypy configuration.

Those files are never run; mypy reads them. They prove with ``assert_type`` that every
decorator returns exactly the object it was given, and with ``type: ignore`` comments (which
``--strict`` requires to be needed) that clearly wrong uses are rejected.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TYPE_CHECK_DIR = PROJECT_ROOT / "tests" / "type_check"
CHECK_FILES = sorted(TYPE_CHECK_DIR.glob("check_*.py"))


def _run_mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is a dev dependency of the project but is not installed")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *(str(path) for path in paths)],
        capture_output=True,
        text=True,
        # From the project root, so mypy reads the [tool.mypy] section of pyproject.toml.
        cwd=PROJECT_ROOT,
        timeout=600,
    )


def test_there_are_type_check_files() -> None:
    assert len(CHECK_FILES) >= 3


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.name)
def test_type_check_file_passes_mypy(path: Path) -> None:
    result = _run_mypy(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


@pytest.mark.timeout(600)
def test_mypy_catches_a_decorator_that_loses_the_type(tmp_path: Path) -> None:
    # Guard against the checks passing vacuously (e.g. everything inferred as Any).
    bad = tmp_path / "check_lossy.py"
    bad.write_text(
        "from collections.abc import Callable\n"
        "from typing import Any, assert_type\n"
        "from erlen import Erlen\n"
        "app = Erlen(__name__)\n"
        "def index() -> str:\n"
        "    return ''\n"
        "assert_type(app.route('/')(index), Callable[[], int])\n"
    )
    result = _run_mypy(bad)
    assert result.returncode == 1
    assert "[assert-type]" in result.stdout
