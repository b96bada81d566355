"""Run Flask 3.1.3's own test suite against erlen (``make compat``), and the suites of
Flask-SQLAlchemy 3.1.1 and Flask-Login 0.6.3 against erlen's extensions (``make compat-ext``).

    .venv/bin/python erlen/compat/run_flask_suite.py [--suite NAME]... [-v] [--keep]
                                                     [--sdist FILE] [--real-flask]
                                                     [-- PYTEST_ARGS...]

``--suite`` is ``flask`` (the default), ``flask-sqlalchemy``, ``flask-login``, or ``ext``
for both extension suites. Each suite's sdist, its pin and its import aliases are in
:data:`SUITES`; its expectations are in ``<name>_suite.toml`` beside this file.

Fetches Flask's sdist from the package index once (checked against the sha256
pinned below) into ``erlen/.compat-cache/``, unpacks its ``tests/`` and
``pyproject.toml`` (Flask's pytest settings, ``filterwarnings = error``
included) into a temporary folder, and runs them with this interpreter's
pytest. The plugin ``flask_to_erlen.py`` beside this file makes ``import
flask`` / ``import flask.X`` give ``erlen`` / ``erlen.X``; the real Flask,
installed for the benchmarks, is never reached.

Each suite ends with a line ``N passed, M failed[, K skipped]``. For the extension
suites the aliases also map ``flask_sqlalchemy`` / ``flask_login`` to
``erlen.ext.sqlalchemy`` / ``erlen.ext.login``; the real extensions are never
imported. Exit status: 0 when, for every suite run, at least ``min_passed`` tests
pass and every failure is listed in its toml file (and explained in
``docs/compatibility.md``); 1 when not;
2 when the harness itself could not run the suite. ``--real-flask`` runs the
same suite on the installed real Flask instead, as a control, and only
reports (Flask's suite only). Extra pytest arguments select a subset; the
minimum is then not checked. Works offline once the sdist is cached.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/simple/"
# The first of these that is set names the package index to download from.
INDEX_ENV = ("ERLEN_COMPAT_INDEX_URL", "PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL")

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
PACKAGE_DIR = PROJECT / "src" / "erlen"
DOCS = PROJECT / "docs" / "compatibility.md"
PLUGIN = "flask_to_erlen"

TEST_TIMEOUT = 60  # seconds, per test
SUITE_TIMEOUT = 1200  # seconds, the whole pytest run


@dataclasses.dataclass(frozen=True)
class Suite:
    """A released project whose own test suite is run against erlen."""

    name: str  # what --suite takes; also the index's project name
    display: str
    version: str
    sdist: str  # the file name on the index
    sha256: str
    top: str  # the sdist's top folder
    config: str  # the file holding the suite's pytest settings
    #: ``import KEY`` gives the module ``VALUE`` (and ``KEY.X`` gives ``VALUE.X``).
    aliases: dict[str, str]

    @property
    def title(self) -> str:
        return f"{self.display} {self.version}"

    @property
    def expectations(self) -> Path:
        return HERE / f"{self.name.replace('-', '_')}_suite.toml"


FLASK = {"flask": "erlen"}
SUITES = {
    "flask": Suite(
        name="flask",
        display="Flask",
        version="3.1.3",
        sdist="flask-3.1.3.tar.gz",
        sha256="0ef0e52b8a9cd932855379197dd8f94047b359ca0a78695144304cb45f87c9eb",
        top="flask-3.1.3/",
        config="pyproject.toml",
        aliases=FLASK,
    ),
    "flask-sqlalchemy": Suite(
        name="flask-sqlalchemy",
        display="Flask-SQLAlchemy",
        version="3.1.1",
        sdist="flask_sqlalchemy-3.1.1.tar.gz",
        sha256="e4b68bb881802dda1a7d878b2fc84c06d1ee57fb40b874d3dc97dabfa36b8312",
        top="flask_sqlalchemy-3.1.1/",
        config="pyproject.toml",
        aliases={**FLASK, "flask_sqlalchemy": "erlen.ext.sqlalchemy"},
    ),
    "flask-login": Suite(
        name="flask-login",
        display="Flask-Login",
        version="0.6.3",
        sdist="Flask-Login-0.6.3.tar.gz",
        sha256="5e23d14a607ef12806c699590b89d0f0e0d67baeec599d75947bf9c147330333",
        top="Flask-Login-0.6.3/",
        config="setup.cfg",
        aliases={**FLASK, "flask_login": "erlen.ext.login"},
    ),
}
#: Names for several suites at once.
GROUPS = {"ext": ["flask-sqlalchemy", "flask-login"]}

# Settings of the calling shell that would change what the suite sees.
SCRUBBED_PREFIXES = ("FLASK_", "ERLEN_", "PYTEST_", "WERKZEUG_")
SCRUBBED = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONWARNINGS", "PYTHONSAFEPATH"}


class HarnessError(Exception):
    """The suite could not be run (download, checksum, interpreter, pytest crash)."""


def say(message: str = "") -> None:
    print(message, flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("ERLEN_COMPAT_CACHE") or PROJECT / ".compat-cache")


# ------------------------------------------------------------------ the sdist


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def index_url() -> str:
    for name in INDEX_ENV:
        if os.environ.get(name):
            return os.environ[name].rstrip("/") + "/"
    return DEFAULT_INDEX


def find_sdist_url(index: str, suite: Suite) -> str:
    """Ask the index's simple API (PEP 691 JSON, or PEP 503 HTML) where the sdist is."""
    page = urllib.parse.urljoin(index, f"{suite.name}/")
    request = urllib.request.Request(
        page, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        kind = response.headers.get("Content-Type", "")
        body = response.read().decode("utf-8", "replace")
    if "json" in kind:
        files = json.loads(body)["files"]
        hrefs = [str(f["url"]) for f in files if f["filename"] == suite.sdist]
    else:
        hrefs = [
            href
            for href in re.findall(r'href="([^"]+)"', body)
            if Path(urllib.parse.urlsplit(href).path).name == suite.sdist
        ]
    if not hrefs:
        raise HarnessError(f"{page} lists no {suite.sdist}.")
    return urllib.parse.urljoin(page, hrefs[0].replace("&amp;", "&"))


def fetch_sdist(suite: Suite, local: Path | None) -> Path:
    """Return the cached sdist, getting it first if needed; its sha256 is always checked."""
    target = cache_dir() / suite.sdist
    if target.exists():
        if sha256_of(target) == suite.sha256:
            return target
        say(f"[compat] {target} does not match the pinned sha256; fetching it again")
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    if local is not None:
        shutil.copyfile(local, partial)
        source = str(local)
    else:
        try:
            source = find_sdist_url(index_url(), suite)
            say(f"[compat] downloading {source}")
            with urllib.request.urlopen(source, timeout=120) as response, partial.open("wb") as fh:
                shutil.copyfileobj(response, fh)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            partial.unlink(missing_ok=True)
            raise HarnessError(
                f"could not download {suite.sdist} from {index_url()} ({exc}). Set "
                f"ERLEN_COMPAT_INDEX_URL to another index, or pass --sdist with a copy."
            ) from exc
    found = sha256_of(partial)
    if found != suite.sha256:
        partial.unlink()
        raise HarnessError(
            f"{source} has sha256 {found}, expected {suite.sha256}: refusing to run it."
        )
    partial.replace(target)
    return target


def unpack_suite(suite: Suite, archive: Path, into: Path) -> Path:
    """Unpack only tests/ and the pytest settings: no source of the project lands on disk."""
    top = suite.top
    root = into / f"{suite.name}-suite"
    with tarfile.open(archive) as tf:
        members = []
        for member in tf.getmembers():
            rel = member.name.removeprefix(top)
            if not member.name.startswith(top):
                continue
            if rel != suite.config and not rel.startswith("tests/"):
                continue
            if not (member.isfile() or member.isdir()) or ".." in Path(rel).parts:
                raise HarnessError(f"unexpected member in {archive.name}: {member.name}")
            member.name = rel
            members.append(member)
        if hasattr(tarfile, "data_filter"):
            tf.extractall(root, members=members, filter="data")
        else:  # Python < 3.11.4; members were checked above
            tf.extractall(root, members=members)
    if not any((root / "tests").glob("test_*.py")):
        raise HarnessError(f"{archive.name} has no tests/test_*.py.")
    return root


# ------------------------------------------------------------------ running


def suite_env(results: Path, target: str, aliases: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith(SCRUBBED_PREFIXES)
    }
    env.update(
        PYTHONPATH=str(HERE),
        PYTHONDONTWRITEBYTECODE="1",
        # Only the plugins named on the command line: an installed plugin that
        # imported the real flask before the alias would defeat it.
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        ERLEN_COMPAT_RESULTS=str(results),
        ERLEN_COMPAT_TARGET=target,
        ERLEN_COMPAT_ALIASES=json.dumps(aliases),
    )
    return env


def run_pytest(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, verbose: bool) -> int:
    with log.open("w", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if verbose else fh,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            if verbose:
                assert proc.stdout is not None
                for line in proc.stdout:
                    fh.write(line)
                    sys.stdout.write(line)
            return proc.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise HarnessError(f"pytest ran longer than {SUITE_TIMEOUT}s; see {log}.") from None


@dataclasses.dataclass
class Results:
    outcomes: dict[str, str]  # nodeid -> passed | failed | error | skipped
    messages: dict[str, str]
    collected: list[str] | None
    finished: bool
    target: dict[str, str]
    leaked: list[str]

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    @property
    def problems(self) -> list[str]:
        return sorted(n for n, o in self.outcomes.items() if o in ("failed", "error"))


def read_results(path: Path) -> Results:
    phases: dict[str, dict[str, str]] = collections.defaultdict(dict)
    messages: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    collected: list[str] | None = None
    finished = False
    target: dict[str, str] = {}
    leaked: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        event = json.loads(line)
        kind = event["event"]
        if kind == "report":
            phases[event["nodeid"]][event["when"]] = event["outcome"]
            if "msg" in event:
                messages.setdefault(event["nodeid"], event["msg"])
        elif kind == "collect_error":
            outcomes[event["nodeid"]] = "error"
            messages[event["nodeid"]] = "collection error: " + event["msg"]
        elif kind == "collected":
            collected = event["nodeids"]
        elif kind == "target":
            target = event
        elif kind == "finish":
            finished = True
            leaked = event["real_flask_modules"]
    for nodeid, seen in phases.items():
        if seen.get("call") == "failed":
            outcomes[nodeid] = "failed"
        elif "failed" in seen.values():
            outcomes[nodeid] = "error"  # a fixture's setup or teardown failed
        elif "skipped" in seen.values():
            outcomes[nodeid] = "skipped"
        elif seen.get("call") == "passed" and "teardown" in seen:
            outcomes[nodeid] = "passed"
        else:
            outcomes[nodeid] = "failed"
            messages.setdefault(nodeid, "did not finish (crash or timeout)")
    for nodeid in collected or ():
        if nodeid not in outcomes and not finished:
            outcomes[nodeid] = "failed"
            messages[nodeid] = "never ran: the session ended early"
    return Results(outcomes, messages, collected, finished, target, leaked)


def versions() -> str:
    names = ("werkzeug", "jinja2", "click", "itsdangerous", "blinker", "pytest")
    found = [f"python {platform.python_version()}"]
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def check_interpreter(target: str) -> None:
    needed = ["pytest", "pytest_timeout", target]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise HarnessError(
            f"{sys.executable} lacks {', '.join(missing)}: run this with the project's "
            "virtualenv: make compat, or .venv/bin/python erlen/compat/run_flask_suite.py."
        )


# ------------------------------------------------------------------ verdict


def load_expectations(suite: Suite) -> tuple[int, dict[str, str]]:
    data = tomllib.loads(suite.expectations.read_text(encoding="utf-8"))
    return int(data["min_passed"]), dict(data["known_failures"])


def undocumented(known: dict[str, str]) -> list[str]:
    """Known failures whose test the docs never name (parametrized ids may be left off)."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    return [
        nodeid
        for nodeid in known
        if nodeid.removeprefix("tests/") not in text
        and nodeid.removeprefix("tests/").split("[")[0] not in text
    ]


def final_line(passed: int, failed: int, skipped: int) -> str:
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def judge(suite: Suite, results: Results, selective: bool) -> list[str]:
    """Print the failures; return the reasons the run fails (empty: it passes)."""
    min_passed, known = load_expectations(suite)
    expectations = suite.expectations
    passed = results.count("passed")
    verdict = []
    expected = [n for n in results.problems if n in known]
    new = [n for n in results.problems if n not in known]
    if expected:
        say(f"[compat] known failures ({len(expected)}), explained in docs/compatibility.md:")
        for nodeid in expected:
            say(f"    {nodeid}\n        {known[nodeid]}")
    if new:
        say(f"[compat] NEW failures ({len(new)}), not in {expectations.name}:")
        for nodeid in new:
            say(f"    {nodeid}\n        {results.messages.get(nodeid, '?')}")
        verdict.append(f"{len(new)} failure(s) not in {expectations.name}")
    now_pass = [n for n in known if results.outcomes.get(n) == "passed"]
    if now_pass:
        say(f"[compat] known failures that now pass (take them out of {expectations.name}):")
        for nodeid in now_pass:
            say(f"    {nodeid}")
    if not selective and passed < min_passed:
        verdict.append(f"{passed} passed, below the documented minimum of {min_passed}")
    missing_docs = undocumented(known)
    if missing_docs:
        verdict.append(f"not explained in {DOCS.name}: {', '.join(missing_docs)}")
    return verdict


# ------------------------------------------------------------------ main


def run_suite(suite: Suite, args: argparse.Namespace) -> int:
    started = time.monotonic()
    target = "flask" if args.real_flask else "erlen"
    check_interpreter(target)
    archive = fetch_sdist(suite, args.sdist)
    say(f"[compat] {suite.title} test suite from {archive} (sha256 checked)")
    last = cache_dir() / "last-run" / suite.name
    shutil.rmtree(last, ignore_errors=True)
    last.mkdir(parents=True)
    events, log = last / "results.jsonl", last / "pytest.log"
    work = Path(tempfile.mkdtemp(prefix=f"erlen-compat-{suite.name}-"))
    try:
        root = unpack_suite(suite, archive, work)
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            PLUGIN,
            "-p",
            "pytest_timeout",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(root),
            "--basetemp",
            str(work / "basetemp"),
            "--timeout",
            str(TEST_TIMEOUT),
            "--continue-on-collection-errors",
            "-q",
            "--tb=short",
            "-rfE",
            *args.pytest_args,
        ]
        say(f"[compat] {versions()}")
        say(f"[compat] running pytest in {root} (log: {log})")
        aliases = {} if args.real_flask else suite.aliases
        status = run_pytest(cmd, root, suite_env(events, target, aliases), log, args.verbose)
    finally:
        if args.keep:
            say(f"[compat] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results = read_results(events)
    if not results.target or status not in (0, 1):
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
        raise HarnessError(f"pytest exited with status {status}:\n{tail}")
    tested = results.target.get(f"{target}_file", "?")
    if target == "erlen":
        if not Path(tested).resolve().is_relative_to(PACKAGE_DIR):
            raise HarnessError(f"`import erlen` gave {tested}, not this checkout's {PACKAGE_DIR}.")
        if results.leaked:
            raise HarnessError(f"a real module was imported: {', '.join(results.leaked)}.")
    mapping = ", ".join(f"{source} -> {alias}" for source, alias in suite.aliases.items())
    say(f"[compat] {mapping if target == 'erlen' else 'flask -> flask'} from {tested}")

    passed, skipped = results.count("passed"), results.count("skipped")
    errors = results.count("error")
    failed = results.count("failed") + errors
    collected = len(results.collected) if results.collected is not None else "?"
    say(
        f"[compat] {collected} collected: {passed} passed, {failed} failed "
        f"({errors} errors), {skipped} skipped in {time.monotonic() - started:.1f}s"
    )
    if target == "flask":
        for nodeid in results.problems:
            say(f"    {nodeid}\n        {results.messages.get(nodeid, '?')}")
        say("[compat] control run on the real Flask: nothing judged")
        verdict = []
    else:
        verdict = judge(suite, results, selective=bool(args.pytest_args))
        if verdict:
            say("[compat] FAILED: " + "; ".join(verdict))
        elif args.pytest_args:
            say("[compat] OK: every failure is a known one (a selection: no minimum)")
        else:
            min_passed, _ = load_expectations(suite)
            say(f"[compat] OK: at least {min_passed} passed, every failure is a known one")
    say(f"{suite.title}: " * (len(args.suites) > 1) + final_line(passed, failed, skipped))
    return 1 if verdict else 0


def run(args: argparse.Namespace) -> int:
    worst = 0
    for name in args.suites:
        worst = max(worst, run_suite(SUITES[name], args))
    return worst


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=[*SUITES, *GROUPS],
        help="which suite to run (repeatable; default: flask)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="stream pytest's output")
    parser.add_argument("--keep", action="store_true", help="keep the unpacked suite")
    parser.add_argument("--sdist", type=Path, help="use this copy of the (one) suite's sdist")
    parser.add_argument(
        "--real-flask", action="store_true", help="control: run Flask's suite on the real Flask"
    )
    args = parser.parse_args(argv)
    args.pytest_args = extra
    args.suites = [name for each in args.suite or ["flask"] for name in GROUPS.get(each, [each])]
    if args.sdist is not None and len(args.suites) > 1:
        parser.error("--sdist needs exactly one --suite")
    if args.real_flask and args.suites != ["flask"]:
        parser.error("--real-flask is a control for Flask's own suite only")
    try:
        return run(args)
    except HarnessError as exc:
        print(f"[compat] HARNESS ERROR: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
