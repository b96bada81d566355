"""Restart a service process when its code changes (``--reload``, for development).

werkzeug's reloader is public only through ``run_simple``, which serves a WSGI app; the
realtime server and the job worker are not WSGI apps, and ``werkzeug._reloader`` is private.
So this is a small one of our own: the parent process never builds the app, it runs the same
command as a child and polls the modification times of the files the command had loaded;
when one changes it stops the child (SIGTERM, so running jobs finish) and starts a new one.
A child that exits by itself ends the parent with the child's status, so a configuration
error still exits non-zero, and a crash is left to the container's restart policy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
import typing as t
from pathlib import Path

#: Set in the child's environment; its presence means "serve, don't watch".
CHILD_ENV = "ERLEN_RELOADER_CHILD"

#: How long a stopped child gets before it is killed.
STOP_TIMEOUT = 35.0


def is_reloader_child() -> bool:
    """Whether this process was started by :func:`run_with_reloader`."""
    return os.environ.get(CHILD_ENV) == "1"


def this_command() -> list[str]:
    """The command line that started this process (``python -m realtime --reload``)."""
    return [sys.executable, *sys.orig_argv[1:]]


def loaded_source_files() -> list[Path]:
    """The files of every module loaded so far: the code a restart would load again."""
    files: list[Path] = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str) and name.endswith(".py"):
            files.append(Path(name))
    return files


def _mtimes(paths: t.Iterable[Path]) -> dict[Path, float]:
    times: dict[Path, float] = {}
    for path in paths:
        try:
            times[path] = path.stat().st_mtime
        except OSError:
            times[path] = -1.0  # deleted: a change too, when it comes back
    return times


def _stop(child: subprocess.Popen[bytes]) -> int:
    child.terminate()
    try:
        return child.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def run_with_reloader(
    command: t.Sequence[str],
    *,
    watch: t.Callable[[], t.Iterable[Path]],
    interval: float = 1.0,
) -> int:
    """Run ``command`` as a child, restarting it whenever a file from ``watch()`` changes.

    Returns the child's exit status once it exits by itself, or after this process got
    SIGTERM or SIGINT (passed on to the child). Call it from the main thread.
    """
    env = {**os.environ, CHILD_ENV: "1"}
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, frame: types.FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            files = list(watch())
            before = _mtimes(files)
            child = subprocess.Popen(list(command), env=env)
            if stopping:
                # The signal came while no child was running: this one gets it instead.
                child.terminate()
            while True:
                try:
                    return child.wait(interval)
                except subprocess.TimeoutExpired:
                    pass
                if stopping:
                    continue  # the signal was passed on; wait for the child to finish
                changed = [path for path, mtime in _mtimes(files).items() if before[path] != mtime]
                if changed:
                    print(f" * {changed[0]} changed, restarting", file=sys.stderr, flush=True)
                    _stop(child)
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
