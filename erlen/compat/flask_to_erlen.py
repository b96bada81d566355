"""pytest plugin: run Flask's own test suite with ``flask`` meaning ``erlen``.

Loaded by ``run_flask_suite.py`` with ``-p flask_to_erlen`` before any conftest,
so the first ``import flask`` of the session already goes through the alias.
``$ERLEN_COMPAT_ALIASES`` (JSON, ``{"flask": "erlen"}`` when unset) may name more
aliases: the extension suites add ``flask_sqlalchemy`` → ``erlen.ext.sqlalchemy``
and ``flask_login`` → ``erlen.ext.login``, which work the same way.

* ``import flask.X`` gives the very module object ``erlen.X`` (one module, two
  names): context variables, signals and monkeypatches are shared, never
  copied. When ``erlen.X`` does not exist the import fails the usual way.
* The real Flask distribution may be installed in the same environment (the
  benchmarks use it); the alias finder sits first on ``sys.meta_path``, so it is
  never reached, and ``importlib.metadata`` answers for ``flask`` with erlen's
  distribution.
* Every test report goes to the JSON-lines file named by
  ``$ERLEN_COMPAT_RESULTS`` as it happens, so a crash still leaves a record.

With ``ERLEN_COMPAT_TARGET=flask`` (the runner's ``--real-flask`` control run)
no alias is installed and the plugin checks that the real Flask is the one
tested.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
import types
import typing as t

import pytest

SOURCE = "flask"
TARGET = "erlen"

# Read once at import: the suite's own fixtures rewrite os.environ.
_RESULTS = os.environ.get("ERLEN_COMPAT_RESULTS")
_MODE = os.environ.get("ERLEN_COMPAT_TARGET", TARGET)
_ALIASES: dict[str, str] = json.loads(os.environ.get("ERLEN_COMPAT_ALIASES") or "{}") or {
    SOURCE: TARGET
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _alias_of(fullname: str) -> tuple[str, str] | None:
    """``(source, target)`` of the alias ``fullname`` falls under, if any."""
    for source, target in _ALIASES.items():
        if fullname == source or fullname.startswith(source + "."):
            return source, target
    return None


class FlaskAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``flask`` and ``flask.*`` (and the other aliases) to erlen's own module
    objects (imported if needed).
    """

    def find_spec(
        self,
        fullname: str,
        path: t.Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        alias = _alias_of(fullname)
        if alias is None:
            return None
        source, real_target = alias
        real_name = real_target + fullname[len(source) :]
        if fullname != source:
            # The top-level name is always claimed, so a broken erlen reports
            # its own error; a missing submodule is left to fail normally.
            try:
                real_spec = importlib.util.find_spec(real_name)
            except (ImportError, ValueError):
                real_spec = None
            if real_spec is None:
                return None
        spec = importlib.machinery.ModuleSpec(fullname, self)
        spec.loader_state = {"name": real_name, "spec": None}
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        state = spec.loader_state
        module = importlib.import_module(state["name"])
        state["spec"] = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The module already ran under its own name; importlib has just
        # stamped the alias spec onto it. Give it back its real spec, or code
        # that reads __spec__ (relative imports, pickling) would see "flask".
        alias_spec = module.__spec__
        assert alias_spec is not None
        module.__spec__ = alias_spec.loader_state["spec"]

    def find_distributions(
        self, context: importlib.metadata.DistributionFinder.Context | None = None
    ) -> t.Iterator[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or _normalize(name) not in {_normalize(s) for s in _ALIASES}:
            return iter(())
        return iter(list(importlib.metadata.distributions(name=TARGET))[:1])


def install() -> None:
    if not any(isinstance(finder, FlaskAlias) for finder in sys.meta_path):
        sys.meta_path.insert(0, FlaskAlias())


def _check_target() -> dict[str, t.Any]:
    """Prove which package the suite is about to test; raise if it is the wrong one."""
    flask = importlib.import_module(SOURCE)
    info: dict[str, t.Any] = {"flask_file": getattr(flask, "__file__", None)}
    if _MODE == TARGET:
        erlen = importlib.import_module(TARGET)
        info["erlen_file"] = erlen.__file__
        if flask is not erlen or flask.Flask is not erlen.Erlen:
            raise pytest.UsageError(f"`import flask` did not give erlen: {flask!r}.")
        for source, target in _ALIASES.items():
            if importlib.import_module(source) is not importlib.import_module(target):
                raise pytest.UsageError(f"`import {source}` did not give {target}.")
    elif flask.__name__ != SOURCE or TARGET in sys.modules:
        raise pytest.UsageError(f"control run: `import flask` gave {flask!r}, not real Flask.")
    return info


def _leaked_real_flask() -> list[str]:
    """Names under an alias whose module is not erlen's: the real package got in."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if _alias_of(name) is not None
        and module is not None
        and not module.__name__.startswith(TARGET)
    )


_results_file: t.TextIO | None = None


def _emit(record: dict[str, t.Any]) -> None:
    global _results_file
    if not _RESULTS:
        return
    if _results_file is None:
        _results_file = open(_RESULTS, "a", encoding="utf-8")
    _results_file.write(json.dumps(record) + "\n")
    _results_file.flush()


def _first_line(report: pytest.CollectReport | pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if crash is not None and lines else (lines[-1] if lines else "")
    return line.removeprefix("E ").strip()[:300]


def _restore_pytest_notset() -> None:
    """Give Flask's conftest back a private pytest name it relies on.

    Flask 3.1.3's ``tests/conftest.py`` reads ``_pytest.monkeypatch.notset``,
    the "no previous value" marker in a monkeypatch undo list; pytest 9.2
    renamed it ``_pytest.compat.NOTSET``. Same object, old name.
    """
    import _pytest.monkeypatch

    if not hasattr(_pytest.monkeypatch, "notset"):
        from _pytest.compat import NOTSET

        _pytest.monkeypatch.notset = NOTSET  # type: ignore[attr-defined]


_restore_pytest_notset()
if _MODE == TARGET:
    install()


def pytest_configure(config: pytest.Config) -> None:
    info = _check_target()
    _emit({"event": "target", "mode": _MODE, **info})


def pytest_collection_finish(session: pytest.Session) -> None:
    _emit({"event": "collected", "nodeids": [item.nodeid for item in session.items]})


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _emit({"event": "collect_error", "nodeid": report.nodeid, "msg": _first_line(report)})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    record: dict[str, t.Any] = {
        "event": "report",
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
    }
    if report.failed:
        record["msg"] = _first_line(report)
    _emit(record)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaked = _leaked_real_flask() if _MODE == TARGET else []
    _emit({"event": "finish", "exitstatus": int(exitstatus), "real_flask_modules": leaked})
