"""The starter's packages depend one way: realtime and worker on web, never back; the mail
catcher (a development tool) on none of them.

Jobs are declared in web; the worker only runs them. No first-party import hides inside a
function (the way a cycle is usually papered over).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("web", "worker", "realtime", "mailcatcher")
#: make dev's composition root: it starts the realtime server next to the web app.
EMBEDDED_ROOT = Path("web/dev.py")


def _sources() -> dict[Path, ast.Module]:
    return {
        path.relative_to(ROOT): ast.parse(path.read_text(), str(path))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _targets(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    """The modules an import statement names, relative ones made absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    package = list(path.parent.parts)
    base = package[: len(package) - (node.level - 1)]
    return [".".join([*base, node.module] if node.module else base)]


def _top_package(module: str) -> str:
    return module.split(".", 1)[0]


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def test_the_packages_are_found() -> None:
    sources = _sources()
    assert {path.parts[0] for path in sources} == set(PACKAGES)
    assert Path("web/jobs.py") in sources


def test_no_first_party_import_inside_a_function() -> None:
    hidden = []
    for path, tree in _sources().items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in _imports(ast.Module(body=function.body, type_ignores=[])):
                if any(_top_package(m) in PACKAGES for m in _targets(node, path)):
                    hidden.append(f"{path}:{node.lineno}")
    assert hidden == []


def test_web_imports_neither_worker_nor_realtime() -> None:
    found = []
    for path, tree in _sources().items():
        if path.parts[0] != "web" or path == EMBEDDED_ROOT:
            continue
        for node in _imports(tree):
            for module in _targets(node, path):
                if _top_package(module) in {"worker", "realtime"}:
                    found.append(f"{path}:{node.lineno} imports {module}")
    assert found == []


def test_nothing_imports_the_embedded_entry_point() -> None:
    importers = [
        f"{path}:{node.lineno}"
        for path, tree in _sources().items()
        for node in _imports(tree)
        if "web.dev" in _targets(node, path)
        or (isinstance(node, ast.ImportFrom) and any(a.name == "dev" for a in node.names))
    ]
    assert importers == []


def _declares_jobs(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr == "actor":
                    return True
    return False


def test_jobs_are_declared_in_web_and_the_worker_declares_none() -> None:
    sources = _sources()
    declaring = sorted(str(path) for path, tree in sources.items() if _declares_jobs(tree))
    assert declaring == ["web/jobs.py"]


def test_the_mail_catcher_stands_alone() -> None:
    # It runs next to any app (and could be swapped for Mailpit): it imports no other package
    # of the starter, and none imports it.
    found = []
    for path, tree in _sources().items():
        for node in _imports(tree):
            for module in _targets(node, path):
                top, own = _top_package(module), path.parts[0]
                if own != top and "mailcatcher" in {own, top} and top in PACKAGES:
                    found.append(f"{path}:{node.lineno} imports {module}")
    assert found == []
