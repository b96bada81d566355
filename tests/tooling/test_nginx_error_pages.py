"""The pages nginx sends browsers for its own errors (web/static/errors/), without a stack.

The integration and reliability tiers see 413, 429 and 502 through nginx; 503 and 504 are
hard to cause there (nginx only answers 504 after proxy_read_timeout's 30 s), so the one page
and the maps that fill it in are checked here against the template's error_page line.
"""

from __future__ import annotations

import re
from pathlib import Path

from nginx_errors import TITLES

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "web" / "static" / "errors" / "error.html"
TEMPLATE = (ROOT / "nginx" / "templates" / "erlen.conf.template").read_text()


def test_error_page_covers_exactly_the_statuses_with_titles_and_details() -> None:
    match = re.search(r"^\s*error_page ([0-9 ]+) /_erlen_errors/", TEMPLATE, re.M)
    assert match, "no error_page line in the nginx template"
    statuses = sorted(int(code) for code in match[1].split())
    assert statuses == sorted(TITLES)
    for status in statuses:
        # The page's title and the problem's come from the same map; each has its detail.
        assert f'{status} "{TITLES[status]}";' in TEMPLATE
        assert re.search(rf'^\s*{status} "[^"]+\.";$', TEMPLATE, re.M), status


def test_the_page_is_styled_scriptless_and_filled_in_by_nginx() -> None:
    page = PAGE.read_text()
    # Named like the app's pages (SITE_NAME; scripts/rename.py renames both).
    assert "<title><!--erlen:title--> · erlen starter</title>" in page
    assert '<a class="brand" href="/">erlen starter</a>' in page
    assert '<link rel="stylesheet" href="/static/style.css">' in page
    assert "<script" not in page and "style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    # Every marker the page has is filled by a sub_filter line, and the other way round.
    markers = set(re.findall(r"<!--erlen:[a-z-]+-->", page))
    filled = set(re.findall(r'sub_filter "(<!--erlen:[a-z-]+-->)"', TEMPLATE))
    assert (
        markers
        == filled
        == {
            "<!--erlen:title-->",
            "<!--erlen:heading-->",
            "<!--erlen:detail-->",
            "<!--erlen:request-id-->",
        }
    )
