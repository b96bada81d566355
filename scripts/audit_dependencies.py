"""Audit every locked dependency for known vulnerabilities (pip-audit over uv.lock).

    python scripts/audit_dependencies.py            # part of `make lint`
    python scripts/audit_dependencies.py --require  # also fail when nothing could be checked

The lock file is exported as pinned requirements (every package and group, the workspace's
own projects left out) and checked by pip-audit without installing anything. A known
vulnerability fails the run, naming the package, the advisory and the fixed versions.

pip-audit asks PyPI's per-release JSON API (or OSV) for advisories. Where neither answers
(an offline mirror, an air-gapped machine), every package comes back "could not be
audited": that is printed as one loud NOT AUDITED line, and is a failure with ``--require``
or ``AUDIT_REQUIRED=1``, so a machine that can reach the service can insist on the check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(found).exists():
        sys.exit("audit: uv is not installed (make setup installs it).")
    return found


def _export_requirements(path: Path) -> None:
    subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--quiet",
            "--format=requirements-txt",
            "--all-packages",
            "--all-groups",
            "--no-emit-workspace",
            "--no-hashes",
            f"--output-file={path}",
        ],
        cwd=ROOT,
        check=True,
    )


def _audit(requirements: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            f"--requirement={requirements}",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner=off",
            "--format=json",
        ],
        capture_output=True,
        text=True,
    )
    # pip-audit exits 1 when it finds vulnerabilities; anything else unparsable is an error.
    try:
        report = json.loads(result.stdout)
    except ValueError:
        sys.exit(f"audit: pip-audit failed (exit {result.returncode}):\n{result.stderr}")
    return list(report["dependencies"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--require",
        action="store_true",
        default=os.environ.get("AUDIT_REQUIRED", "") in {"1", "true", "yes"},
        help="fail when the vulnerability service could not be reached (AUDIT_REQUIRED=1)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        _export_requirements(requirements)
        dependencies = _audit(requirements)

    lines, code = summarise(dependencies, require=args.require)
    print("\n".join(lines))
    return code


def summarise(dependencies: list[dict[str, object]], *, require: bool) -> tuple[list[str], int]:
    """The lines to print and the exit code for pip-audit's ``dependencies`` list."""
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines: list[str] = []
    for dependency in vulnerable:
        for vuln in _as_list(dependency["vulns"]):
            assert isinstance(vuln, dict)
            fixes = ", ".join(map(str, _as_list(vuln.get("fix_versions")))) or "no fixed release"
            lines.append(
                f"audit: {dependency['name']} {dependency['version']}: {vuln['id']}"
                f" (fixed in: {fixes})"
            )
    if vulnerable:
        lines.append(
            f"audit: {len(vulnerable)} of {len(dependencies)} locked packages are vulnerable."
        )
        return lines, 1
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "empty lock"
        lines.append(
            f"audit: NOT AUDITED: none of the {len(dependencies)} locked packages could be"
            f" checked ({reason}): the vulnerability service (PyPI's JSON API or OSV) is"
            " unreachable from here."
        )
        return lines, 1 if require else 0
    line = f"audit: no known vulnerabilities in {len(audited)} locked packages"
    if skipped:
        line += f"; {len(skipped)} could not be checked: "
        line += ", ".join(str(d["name"]) for d in skipped)
    lines.append(line + ".")
    return lines, 1 if skipped and require else 0


def _as_list(value: object) -> list[object]:
    """``value`` when it is a list, else an empty list (pip-audit's JSON leaves keys out)."""
    return value if isinstance(value, list) else []


if __name__ == "__main__":
    sys.exit(main())
