"""Create .env from .env.example, replacing every ``generate`` value with a fresh secret.

Used by ``make up``. An existing .env keeps every value it has, so secrets stay stable; a
secret .env.example gained since (a new ``NAME=generate`` line) is appended with a fresh
value, so an update that adds one doesn't leave compose refusing to start.

    python scripts/make_env.py [--example .env.example] [--out .env]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path


def _secret_name(line: str) -> str | None:
    """``NAME`` when ``line`` is ``NAME=generate`` (a secret to make), else ``None``."""
    name, sep, value = line.partition("=")
    if sep and not line.lstrip().startswith("#") and value.strip() == "generate":
        return name
    return None


def render(example: str) -> str:
    """The example's text with each ``NAME=generate`` line given a random value."""
    lines = []
    for line in example.splitlines():
        if (name := _secret_name(line)) is not None:
            line = f"{name}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def missing_secrets(example: str, existing: str) -> str:
    """Lines to append to ``existing``: each ``generate`` secret of the example it lacks,
    with a fresh value (empty when it lacks none)."""
    have = {
        line.partition("=")[0].strip()
        for line in existing.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    names = [name for line in example.splitlines() if (name := _secret_name(line)) is not None]
    return "".join(f"{n}={secrets.token_urlsafe(32)}\n" for n in names if n.strip() not in have)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=Path(".env.example"))
    parser.add_argument("--out", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    if not args.example.is_file():
        print(f"error: {args.example} not found.", file=sys.stderr)
        return 2
    if args.out.exists():
        existing = args.out.read_text()
        added = missing_secrets(args.example.read_text(), existing)
        if not added:
            print(f"{args.out} exists; leaving it as it is.")
            return 0
        separator = "" if existing.endswith("\n") or not existing else "\n"
        args.out.write_text(existing + separator + added)
        names = ", ".join(line.partition("=")[0] for line in added.splitlines())
        print(f"{args.out} exists; added the secrets it lacked: {names}.")
        return 0
    args.out.write_text(render(args.example.read_text()))
    args.out.chmod(0o600)
    print(f"Created {args.out} with fresh secrets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
