"""docs/make-it-yours.md, done as a fork would: every code block applied to a copy of the
starter, then the commands run and the new notes feature used through the page, the API, the
job and the live event. A recipe that stops working fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "make-it-yours.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.M | re.S)
WHERE = re.compile(
    r"^(?:#|//) (?:new file: (?P<new>\S+)|append to: (?P<append>\S+)"
    r"|in (?P<in>\S+), after the line: (?P<after>.+))$"
)


@dataclass(frozen=True)
class Edit:
    """One code block: what it adds, and where."""

    path: str
    text: str
    mode: str  # "new", "append" or "after"
    anchor: str = ""

    def apply(self, root: Path) -> None:
        target = root / self.path
        if self.mode == "new":
            assert not target.exists(), f"{self.path} exists already"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.text)
        elif self.mode == "append":
            target.write_text(target.read_text() + self.text)
        else:
            lines = target.read_text().splitlines(keepends=True)
            at = [i for i, line in enumerate(lines) if line.strip() == self.anchor]
            assert len(at) == 1, f"{self.path}: the line {self.anchor!r} is there {len(at)} times"
            lines.insert(at[0] + 1, self.text)
            target.write_text("".join(lines))


def blocks(doc: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(doc)]


def edits(doc: str) -> list[Edit]:
    out = []
    for language, body in blocks(doc):
        if language == "sh":
            continue
        first, _, text = body.partition("\n")
        where = WHERE.match(first)
        assert where, f"a {language} block doesn't say where it goes: {first!r}"
        if where["new"]:
            out.append(Edit(where["new"], text, "new"))
        elif where["append"]:
            out.append(Edit(where["append"], text, "append"))
        else:
            out.append(Edit(where["in"], text, "after", where["after"].strip()))
    return out


def commands(doc: str) -> list[str]:
    return [
        line.strip()
        for language, body in blocks(doc)
        if language == "sh"
        for line in body.splitlines()
        if line.strip()
    ]


def _copy_of_the_starter(into: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("web", "scripts", "docs", "deploy"):
        shutil.copytree(ROOT / name, into / name, ignore=ignore)
    for name in ("pyproject.toml", "docker-compose.yml", "docker-compose.dev.yml", ".env.example"):
        shutil.copy2(ROOT / name, into / name)
    # The lint settings extend the framework's.
    (into / "erlen").mkdir()
    shutil.copy2(ROOT / "erlen" / "pyproject.toml", into / "erlen" / "pyproject.toml")
    return into


def _env(project: Path) -> dict[str, str]:
    """Embedded mode (SQLite, in-memory brokers) in the copy, away from the real .env."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(project),
        "ERLEN_ENV": "testing",
        "ERLEN_SKIP_DOTENV": "1",
        "INSTANCE_PATH": str(project / "instance"),
        "DATABASE_URL": f"sqlite:///{project / 'instance' / 'app.db'}",
        "LOG_LEVEL": "warning",
    }


def _run(project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=project, env=_env(project), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result


def _erlen(project: Path, command: str) -> subprocess.CompletedProcess[str]:
    """One of the doc's ``erlen ...`` commands, as its shell would run it."""
    assert command.startswith("erlen ")
    argv = [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', command)]
    return _run(project, sys.executable, "-m", *argv)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter with recipes 2 to 6 applied and their migration generated and applied."""
    root = _copy_of_the_starter(tmp_path_factory.mktemp("fork"))
    doc = DOC.read_text()
    for edit in edits(doc):
        edit.apply(root)
    documented = [c for c in commands(doc) if c.startswith("erlen ")]
    assert documented == [
        'erlen --app web.wsgi db revision --autogenerate -m "notes"',
        "erlen --app web.wsgi db upgrade",
    ]
    # Autogenerate compares with a database at the head of the existing migrations.
    _erlen(root, "erlen --app web.wsgi db upgrade")
    for command in documented:
        _erlen(root, command)
    return root


def test_every_block_says_where_it_goes() -> None:
    found = edits(DOC.read_text())
    assert {e.path for e in found} >= {
        "web/models/note.py",
        "web/jobs.py",
        "web/services/notes.py",
        "web/blueprints/notes.py",
        "web/templates/notes/index.html",
        "web/api_v1/notes.py",
        "web/static/notes.js",
    }


def test_the_generated_migration_creates_the_table_without_importing_the_app(
    project: Path,
) -> None:
    new = [p for p in (project / "web/migrations/versions").glob("*.py") if "notes" in p.name]
    assert len(new) == 1, new
    text = new[0].read_text()
    assert 'op.create_table(\n        "notes"' in text or "op.create_table('notes'" in text
    assert "sa.DateTime(timezone=True)" in text
    assert "web." not in text  # UTCDateTime is written as the DateTime it stores
    # Models and migrations agree.
    _erlen(project, "erlen --app web.wsgi db check")


def test_the_recipes_code_passes_the_projects_lint(project: Path) -> None:
    python = sorted(
        {e.path for e in edits(DOC.read_text()) if e.path.endswith(".py")}
        | {
            str(p.relative_to(project))
            for p in (project / "web/migrations/versions").glob("*notes*.py")
        }
    )
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(project / "pyproject.toml")]
    _run(project, *ruff, "check", *config, *python)
    _run(project, *ruff, "format", "--check", *config, *python)


# Runs inside the fork (its own `web`): the feature used as a person and a client would.
USE_THE_FEATURE = textwrap.dedent(
    """
    import asyncio, threading
    from erlen.ext.migrate import upgrade
    import web.jobs
    from web.app import create_app
    from web.extensions import db, jobs, publisher
    from web.services import accounts

    app = create_app()
    upgrade(app)
    with app.app_context():
        user = accounts.register(session=db.session, username="nora", password="a good password")
        channel = f"user.{user.id}"

    def csrf(client, path):
        page = client.get(path).get_data(as_text=True)
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        client.environ_base["HTTP_X_CSRFTOKEN"] = token
        return page

    visitor = app.test_client()
    assert visitor.get("/notes/").status_code == 302, "a visitor is sent to log in"
    assert visitor.get("/api/v1/notes").status_code == 401

    client = app.test_client()
    csrf(client, "/login")
    response = client.post("/login", data={"username": "nora", "password": "a good password"})
    assert response.status_code == 302, response.status_code
    page = csrf(client, "/notes/")
    assert 'id="no-notes"' in page, "the empty state"

    # The live event reaches a subscriber of the author's channel.
    received, ready = [], threading.Event()
    async def listen():
        broker = publisher.get_broker(app)
        async with broker.subscribe(channel) as subscription:
            await broker.wait_ready(channel)
            ready.set()
            async for _channel, event in subscription:
                received.append(event)
                return
    listener = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(listen(), 20)))
    listener.start()
    assert ready.wait(10)

    worker = jobs.run_worker_thread(app=app, worker_threads=1)
    try:
        assert client.post("/notes/", data={"body": "three small words"}).status_code == 302
        assert client.post("/notes/", data={"body": "   "}).status_code == 422
        jobs.join(app=app, timeout=20)
        listener.join(20)
        assert [e["event"] for e in received] == ["note.counted"], received
        assert received[0]["data"]["words"] == 3
        assert "3 words" in client.get("/notes/").get_data(as_text=True)

        listed = client.get("/api/v1/notes").get_json()
        assert [(n["body"], n["words"]) for n in listed["items"]] == [("three small words", 3)]
        created = client.post("/api/v1/notes", json={"body": "one more"})
        assert created.status_code == 201 and created.get_json()["words"] is None
        refused = client.post("/api/v1/notes", json={"body": ""})
        assert refused.status_code == 422
        assert refused.headers["Content-Type"] == "application/problem+json"
        spec = client.get("/api/v1/openapi.json").get_json()
        assert set(spec["paths"]["/api/v1/notes"]) == {"get", "post"}
        assert "notes.js" in client.get("/notes/").get_data(as_text=True)
        assert client.get("/static/notes.js").status_code == 200
    finally:
        worker.stop()
    print("the notes feature works")
    """
)


def test_the_page_the_api_the_job_and_the_live_event_work(project: Path) -> None:
    result = _run(project, sys.executable, "-c", USE_THE_FEATURE)
    assert result.stdout.strip().endswith("the notes feature works"), result.stdout


# -- recipe 1: rename ------------------------------------------------------------------------

RENAMED_PAGE = textwrap.dedent(
    """
    from web.app import create_app
    app = create_app()
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "<title>Log in · Acme Chat</title>" in page, page
    assert ">Acme Chat</a>" in page
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Acme Chat API", spec["info"]
    assert app.config["KEY_PREFIX"] == "acme"
    print("renamed")
    """
)


def test_rename_gives_the_fork_its_names_and_refuses_to_run_twice(tmp_path: Path) -> None:
    fork = _copy_of_the_starter(tmp_path)
    (documented,) = [c for c in commands(DOC.read_text()) if "rename.py" in c]
    assert documented == 'python scripts/rename.py acme "Acme Chat"'
    argv = [sys.executable, "scripts/rename.py", "acme", "Acme Chat"]

    result = _run(fork, *argv)

    assert "Renamed to acme (Acme Chat)" in result.stdout
    compose = (fork / "docker-compose.yml").read_text()
    assert "\nname: acme\n" in compose
    assert "image: acme-app:" in compose and "image: acme-nginx:" in compose
    assert "${KEY_PREFIX:-acme}" in compose and "${POSTGRES_DB:-acme}" in compose
    assert "\nPOSTGRES_USER=acme\n" in (fork / ".env.example").read_text()
    assert 'name = "acme"' in (fork / "pyproject.toml").read_text()
    page = (fork / "web/static/errors/error.html").read_text()
    assert "<title><!--erlen:title--> · Acme Chat</title>" in page and ">Acme Chat</a>" in page
    k8s = "".join(p.read_text() for p in (fork / "deploy").rglob("*.yaml"))
    assert "erlen-app" not in k8s and "acme-app" in k8s
    # The framework keeps its name: the commands, the imports.
    assert '["erlen", "--app", "web.wsgi", "db", "upgrade"]' in compose
    assert "from erlen import" in (fork / "web/app.py").read_text()
    assert _run(fork, sys.executable, "-c", RENAMED_PAGE).stdout.strip() == "renamed"
    changed = [
        "scripts/rename.py",
        "web/config.py",
        "web/environments.py",
        "web/api_v1/base.py",
    ]
    ruff = [sys.executable, "-m", "ruff"]
    _run(fork, *ruff, "format", "--check", "--config", str(fork / "pyproject.toml"), *changed)

    before = {p: p.read_bytes() for p in fork.rglob("*") if p.is_file()}
    again = subprocess.run(argv, cwd=fork, env=_env(fork), capture_output=True, text=True)
    assert again.returncode == 2 and "renamed already?" in again.stderr
    assert {p: p.read_bytes() for p in fork.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("args", "complaint"),
    [(["Acme", "Acme Chat"], "slug 'Acme'"), (["acme", 'Say "hi"'], "title 'Say \"hi\"'")],
)
def test_rename_refuses_a_bad_name_naming_it(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    fork = _copy_of_the_starter(tmp_path)
    result = subprocess.run(
        [sys.executable, "scripts/rename.py", *args],
        cwd=fork,
        env=_env(fork),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and complaint in result.stderr, result.stderr
