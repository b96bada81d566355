"""The service entry points as a person or a container runs them: configuration errors are
one line and a non-zero exit, and ``--reload`` restarts on code changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import typing as t
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVICE_URLS = {"DATABASE_URL", "REDIS_URL", "BROKER_URL", "SECRET_KEY", "REALTIME_URL"}


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_URLS}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    "command",
    # One each, covering the three start-up paths: werkzeug's reloader (web.dev reloads by
    # default), no reloader, and web.reloader's watching parent and serving child.
    [
        ["-m", "web.dev", "--port", "0", "--realtime-port", "0"],
        ["-m", "realtime", "--port", "0"],
        ["-m", "worker", "--reload"],
        # What the migrate job and `make up-dev` run: the CLI importing web.wsgi.
        ["-m", "erlen", "--app", "web.wsgi", "db", "upgrade"],
    ],
    ids=" ".join,
)
def test_a_configuration_error_is_one_line_and_exit_status_2(
    command: list[str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [PYTHON, *command],
        cwd=ROOT,
        env=_env(tmp_path, LOG_LEVEL="loud"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: LOG_LEVEL: must be one of ['critical', 'debug', 'error', 'info', 'warning'],"
        " got 'loud'."
    ]


def test_make_dev_reads_dot_env_below_the_real_environment(tmp_path: Path) -> None:
    # .env's LOG_LEVEL reaches the configuration (and so fails it), unless the real
    # environment sets the variable: then .env loses.
    (tmp_path / ".env").write_text("LOG_LEVEL=loud\n")
    command = [PYTHON, "-m", "web.dev", "--port", "0", "--realtime-port", "0", "--no-reload"]
    env = _env(tmp_path, PYTHONPATH=str(ROOT))
    env.pop("LOG_LEVEL", None)

    read = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert read.returncode == 2, read.stderr
    assert "LOG_LEVEL: must be one of" in read.stderr and "got 'loud'" in read.stderr

    env["LOG_LEVEL"] = "verbose"
    real_wins = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert real_wins.returncode == 2 and "got 'verbose'" in real_wins.stderr, real_wins.stderr


# A child that records each start, and exits with 7 when asked to stop.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()}\\n")
    if len(sys.argv) > 2:
        sys.exit(int(sys.argv[2]))
    while True:
        time.sleep(0.05)
    """
)

# The reloader as the entry points run it, with the watched file and the child given.
DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from web.reloader import run_with_reloader
    watched, *command = sys.argv[1:]
    sys.exit(run_with_reloader(command, watch=lambda: [Path(watched)], interval=0.05))
    """
)


def _starts(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _wait_for(predicate: t.Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _driver(tmp_path: Path, *child_args: str) -> tuple[subprocess.Popen[str], Path, Path]:
    watched = tmp_path / "module.py"
    watched.write_text("x = 1\n")
    starts = tmp_path / "starts"
    process = subprocess.Popen(
        [PYTHON, "-c", DRIVER, str(watched), PYTHON, "-c", CHILD, str(starts), *child_args],
        cwd=ROOT,
        text=True,
    )
    return process, watched, starts


def test_reload_restarts_the_child_when_a_watched_file_changes(tmp_path: Path) -> None:
    process, watched, starts = _driver(tmp_path)
    try:
        _wait_for(lambda: len(_starts(starts)) == 1, "the first start")
        later = time.time() + 10
        os.utime(watched, (later, later))
        _wait_for(lambda: len(_starts(starts)) == 2, "the restart")
        first, second = _starts(starts)
        assert first != second
        _wait_for(lambda: not _alive(first), "the first child to stop")
        # A stop signal reaches the running child; the parent exits with the child's status.
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 7
        assert not _alive(second)
    finally:
        process.kill()
        process.wait()


def test_a_child_that_exits_by_itself_ends_the_reloader_with_its_status(tmp_path: Path) -> None:
    process, _watched, starts = _driver(tmp_path, "3")
    try:
        assert process.wait(20) == 3
        assert len(_starts(starts)) == 1
    finally:
        process.kill()
        process.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
