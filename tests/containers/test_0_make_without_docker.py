"""`make up` on a machine without Docker, without Compose v2, or without a running engine:
one line saying what is missing and how to get it, and a non-zero exit.

Runs in a temporary copy of what `make up` touches, with a PATH that holds only the tools
make needs and, per case, a stand-in `docker`. Needs no engine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from compose_stack import ROOT

# A docker CLI whose `compose` is not a plugin, as on a Debian docker.io without the plugin.
NO_COMPOSE = """#!/bin/sh
if [ "$1" = compose ]; then echo "unknown shorthand flag: 'd' in -d" >&2; exit 125; fi
if [ "$1" = info ]; then exit 0; fi
exit 0
"""
# A docker CLI with Compose v2 whose engine is not running.
NO_ENGINE = """#!/bin/sh
if [ "$1" = compose ] && [ "$2" = version ]; then echo 2.40.3; exit 0; fi
if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi
exit 0
"""
TOOLS = ("make", "bash", "sh", "env", "python3", "grep", "cat", "dirname", "id")


def _make_up(tmp_path: Path, docker_stub: str | None) -> subprocess.CompletedProcess[str]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("Makefile", ".env.example", "scripts/docker-engine.sh", "scripts/make_env.py"):
        shutil.copy2(ROOT / name, repo / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run make"
        (bin_dir / tool).symlink_to(found)
    if docker_stub is not None:
        (bin_dir / "docker").write_text(docker_stub)
        (bin_dir / "docker").chmod(0o755)
    return subprocess.run(
        ["make", "up"],
        cwd=repo,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("stub", "missing", "remedy"),
    [
        (None, "docker not found", "apt-get install docker.io"),
        (NO_COMPOSE, "Docker Compose v2 not found", "compose plugin"),
        (NO_ENGINE, "no Docker engine answers", "scripts/docker-engine.sh start"),
    ],
    ids=["no-docker", "no-compose-v2", "no-engine"],
)
def test_make_up_says_what_is_missing_and_fails(
    tmp_path: Path, stub: str | None, missing: str, remedy: str
) -> None:
    result = _make_up(tmp_path, stub)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert missing in errors[0] and remedy in errors[0]
    assert "unknown shorthand flag" not in result.stdout + result.stderr
    # It stopped before doing anything: no .env with fresh secrets was written.
    assert not (tmp_path / "repo" / ".env").exists()
