"""Create .env from .env.example, replacing every ``generate`` value with a fresh secret.

Used by ``make up``. An existing .env is never touched, so secrets stay stable.

    python scripts/make_env.py [--example .env.example] [--out .env]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path


def render(example: str) -> str:
    """The example's text with each ``NAME=generate`` line given a random value."""
    lines = []
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip() == "generate":
            line = f"{name}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=Path(".env.example"))
    parser.add_argument("--out", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"{args.out} exists; leaving it as it is.")
        return 0
    if not args.example.is_file():
        print(f"error: {args.example} not found.", file=sys.stderr)
        return 2
    args.out.write_text(render(args.example.read_text()))
    args.out.chmod(0o600)
    print(f"Created {args.out} with fresh secrets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
