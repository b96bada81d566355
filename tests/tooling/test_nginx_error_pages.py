"""The pages nginx sends browsers for its own errors (web/static/errors/), without a stack.

The integration and reliability tiers see 413, 429 and 502 through nginx; 503 and 504 are
hard to cause there (nginx only answers 504 after proxy_read_timeout's 30 s), so each page is
checked here against the template's error_page line and title map.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nginx_errors import TITLES

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "web" / "static" / "errors"
TEMPLATE = (ROOT / "nginx" / "templates" / "erlen.conf.template").read_text()


def test_error_page_covers_exactly_the_statuses_with_pages() -> None:
    match = re.search(r"^\s*error_page ([0-9 ]+) /_erlen_errors/", TEMPLATE, re.M)
    assert match, "no error_page line in the nginx template"
    statuses = sorted(int(code) for code in match[1].split())
    assert statuses == sorted(TITLES)
    assert sorted(int(p.stem) for p in PAGES.glob("*.html")) == statuses


@pytest.mark.parametrize("status", sorted(TITLES))
def test_each_page_is_styled_and_scriptless(status: int) -> None:
    page = (PAGES / f"{status}.html").read_text()
    # Named like the app's pages (SITE_NAME; scripts/rename.py renames both).
    assert f"<title>{status} {TITLES[status]} · erlen starter</title>" in page
    assert '<a class="brand" href="/">erlen starter</a>' in page
    assert f"<h1>{status} {TITLES[status]}</h1>" in page
    assert '<link rel="stylesheet" href="/static/style.css">' in page
    assert "<!--erlen:request-id-->" in page  # nginx's sub_filter puts the request id here
    assert "<script" not in page and "style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    # The problem nginx sends API clients has the same title.
    assert f'{status} "{TITLES[status]}";' in TEMPLATE
