"""Give a fork its own name: ``python scripts/rename.py acme "Acme Chat"``.

SLUG (lower case, digits, dashes) names what machines see: the compose project, the images,
the Kubernetes service account and image, the Redis key prefix, the Postgres role and
database, the Python project. TITLE is what people see: every page's title and brand, the
mail, the API document. Never touched: ``erlen`` the framework (imports, ``erlen.ext``, the
``erlen`` command).

Each change names the exact text it replaces, and the script stops before writing anything
if one is missing (the starter changed and this list was not updated, or it already ran).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLUG = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
#: What the starter is called today.
OLD_SLUG, OLD_TITLE = "erlen", "erlen starter"


def replacements(root: Path, slug: str, title: str) -> dict[str, list[tuple[str, str]]]:
    """Per file (from the repository's root): each exact text and what replaces it. ``title``
    has no quotes or backslashes (:func:`main` checks), so it goes into code as it is."""
    return {
        "docker-compose.yml": [
            (f"\nname: {OLD_SLUG}\n", f"\nname: {slug}\n"),
            (f"image: {OLD_SLUG}-app:", f"image: {slug}-app:"),
            (f"image: {OLD_SLUG}-nginx:", f"image: {slug}-nginx:"),
            (f"${{KEY_PREFIX:-{OLD_SLUG}}}", f"${{KEY_PREFIX:-{slug}}}"),
            (f"${{POSTGRES_USER:-{OLD_SLUG}}}", f"${{POSTGRES_USER:-{slug}}}"),
            (f"${{POSTGRES_DB:-{OLD_SLUG}}}", f"${{POSTGRES_DB:-{slug}}}"),
        ],
        ".env.example": [
            (f"\nKEY_PREFIX={OLD_SLUG}\n", f"\nKEY_PREFIX={slug}\n"),
            (f"\nPOSTGRES_USER={OLD_SLUG}\n", f"\nPOSTGRES_USER={slug}\n"),
            (f"\nPOSTGRES_DB={OLD_SLUG}\n", f"\nPOSTGRES_DB={slug}\n"),
        ],
        "pyproject.toml": [(f'name = "{OLD_SLUG}-starter"', f'name = "{slug}"')],
        "web/config.py": [
            (f'env.get("KEY_PREFIX") or "{OLD_SLUG}"', f'env.get("KEY_PREFIX") or "{slug}"')
        ],
        "web/environments.py": [(f'SITE_NAME = "{OLD_TITLE}"', f'SITE_NAME = "{title}"')],
        "web/api_v1/base.py": [(f'title="{OLD_TITLE} API"', f'title="{title} API"')],
        "deploy/k8s/base/config.env": [(f"\nKEY_PREFIX={OLD_SLUG}\n", f"\nKEY_PREFIX={slug}\n")],
        # The pages nginx answers its own errors with (no template engine there).
        **{
            str(path.relative_to(root)): [
                (f" · {OLD_TITLE}</title>", f" · {title}</title>"),
                (f'class="brand" href="/">{OLD_TITLE}</a>', f'class="brand" href="/">{title}</a>'),
            ]
            for path in [root / "web" / "static" / "errors" / "error.html"]
        },
        **{
            str(path.relative_to(root)): [(f"{OLD_SLUG}-app", f"{slug}-app")]
            for path in sorted((root / "deploy" / "k8s").rglob("*.yaml"))
            if f"{OLD_SLUG}-app" in path.read_text()
        },
    }


def rename(root: Path, slug: str, title: str) -> list[str]:
    """Apply :func:`replacements` under ``root``; return the files changed.

    :raises ValueError: a text to replace is missing (nothing was written).
    """
    new_texts = {}
    for name, changes in replacements(root, slug, title).items():
        text = (root / name).read_text()
        for old, new in changes:
            if old not in text:
                raise ValueError(f"{name}: {old.strip()!r} is not there (renamed already?)")
            text = text.replace(old, new)
        new_texts[name] = text
    for name, text in new_texts.items():
        (root / name).write_text(text)
    return list(new_texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slug", help="the machine name, e.g. acme")
    parser.add_argument("title", help='the name people see, e.g. "Acme Chat"')
    args = parser.parse_args(argv)
    if not SLUG.match(args.slug) or args.slug == OLD_SLUG:
        parser.error(
            f"slug {args.slug!r}: 3 to 32 lower-case letters, digits and dashes, starting"
            f" with a letter (and not {OLD_SLUG!r})."
        )
    if not args.title.strip() or any(c in args.title for c in "\"'\\\n"):
        parser.error(f"title {args.title!r}: some text, without quotes or backslashes.")
    try:
        changed = rename(ROOT, args.slug, args.title.strip())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Renamed to {args.slug} ({args.title.strip()}) in {len(changed)} files:")
    for name in changed:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
