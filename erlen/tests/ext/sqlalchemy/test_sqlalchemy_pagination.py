"""``db.paginate``: pages from the request, bad input as 404 or clamped, and page links."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

import erlen
from erlen.ext.sqlalchemy import Pagination
from erlen.ext.sqlalchemy import SQLAlchemy

TOTAL = 25


@pytest.fixture
def paged_app(db_app: erlen.Erlen, db: SQLAlchemy) -> erlen.Erlen:
    """25 authors and a JSON view of one page of them."""
    Author = db.models.Author
    with db_app.app_context():
        db.session.add_all(Author(name=f"author {n:02}") for n in range(1, TOTAL + 1))
        db.session.commit()

    @db_app.get("/authors")
    def authors() -> dict[str, t.Any]:
        page = db.paginate(sa.select(Author).order_by(Author.id))
        return {
            "names": [a.name for a in page],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
            "links": page.links("authors"),
        }

    return db_app


def _select_authors(db: SQLAlchemy) -> sa.Select[t.Any]:
    Author = db.models.Author
    return sa.select(Author).order_by(Author.id)


def test_first_page_by_default(paged_app: erlen.Erlen) -> None:
    data = paged_app.test_client().get("/authors").json
    assert data is not None
    assert data["page"] == 1
    assert data["per_page"] == 20
    assert data["total"] == TOTAL
    assert data["pages"] == 2
    assert data["names"][0] == "author 01"
    assert len(data["names"]) == 20


def test_page_and_per_page_come_from_the_query_string(paged_app: erlen.Erlen) -> None:
    data = paged_app.test_client().get("/authors?page=3&per_page=10").json
    assert data is not None
    assert data["names"] == [f"author {n}" for n in range(21, 26)]
    assert data["pages"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=1.5",
        "page=",
        "page=0",
        "page=-1",
        "per_page=abc",
        "per_page=0",
        "per_page=-5",
        "page=3",  # past the last page (2 pages of 20)
        "page=99999999999999999999999999999999",  # beyond any SQL integer
        "page=9223372036854775807",
        "page=" + "9" * 5000,  # more digits than int() accepts
    ],
)
def test_bad_page_values_answer_404_not_500(paged_app: erlen.Erlen, query: str) -> None:
    response = paged_app.test_client().get(f"/authors?{query}")
    assert response.status_code == 404


def test_bad_value_404_says_what_is_wrong(paged_app: erlen.Erlen) -> None:
    response = paged_app.test_client().get("/authors?page=abc")
    assert "must be a whole number" in response.text


@pytest.mark.parametrize("per_page", ["101", "100000", "99999999999999999999999999999999"])
def test_huge_per_page_is_clamped_to_100(paged_app: erlen.Erlen, per_page: str) -> None:
    data = paged_app.test_client().get(f"/authors?per_page={per_page}").json
    assert data is not None
    assert data["per_page"] == 100
    assert len(data["names"]) == TOTAL


def test_without_error_out_bad_values_fall_back_to_defaults(
    paged_app: erlen.Erlen, db: SQLAlchemy
) -> None:
    with paged_app.test_request_context("/?page=abc&per_page=-3"):
        page = db.paginate(_select_authors(db), error_out=False)
    assert (page.page, page.per_page) == (1, 20)
    with paged_app.test_request_context("/?page=99999999999999999999"):
        page = db.paginate(_select_authors(db), error_out=False)
    assert page.items == []
    assert page.total == TOTAL


def test_arguments_win_over_the_request(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with paged_app.test_request_context("/?page=2&per_page=5"):
        page = db.paginate(_select_authors(db), page=1, per_page=3, max_per_page=2)
    assert (page.page, page.per_page, len(page.items)) == (1, 2, 2)


def test_outside_a_request_the_defaults_apply(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with paged_app.app_context():
        page = db.paginate(_select_authors(db))
    assert (page.page, page.per_page, page.total) == (1, 20, TOTAL)


def test_page_numbers_and_neighbours(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with paged_app.app_context():
        page = db.paginate(_select_authors(db), page=2, per_page=10)
        assert (page.first, page.last) == (11, 20)
        assert (page.has_prev, page.prev_num, page.has_next, page.next_num) == (True, 1, True, 3)
        last = page.next()
        assert [a.name for a in last.items] == [f"author {n}" for n in range(21, 26)]
        assert (last.has_next, last.next_num, last.first, last.last) == (False, None, 21, 25)
        first = page.prev()
        assert (first.page, first.has_prev, first.prev_num) == (1, False, None)
        # Past the end, next() gives an empty page rather than a 404 by default.
        assert last.next().items == []
        with pytest.raises(NotFound):
            last.next(error_out=True)


def test_total_is_counted_on_full_and_short_pages(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with paged_app.app_context():
        for page_number, per_page in [(1, 5), (5, 5), (2, 24), (1, 25), (1, 100)]:
            page = db.paginate(_select_authors(db), page=page_number, per_page=per_page)
            assert page.total == TOTAL, (page_number, per_page)
        uncounted = db.paginate(_select_authors(db), page=1, per_page=5, count=False)
        assert (uncounted.total, uncounted.pages, uncounted.has_next) == (None, 0, False)


def test_empty_result_is_one_empty_page(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    Author = db.models.Author
    with paged_app.app_context():
        page = db.paginate(sa.select(Author).where(Author.name == "nobody"))
    assert (page.items, page.total, page.pages, page.first, page.last) == ([], 0, 0, 0, 0)
    assert list(page.iter_pages()) == []


def test_links_to_first_prev_next_last(paged_app: erlen.Erlen) -> None:
    data = paged_app.test_client().get("/authors?page=2&per_page=10").json
    assert data is not None
    assert data["links"] == {
        "first": "/authors?page=1&per_page=10",
        "prev": "/authors?page=1&per_page=10",
        "next": "/authors?page=3&per_page=10",
        "last": "/authors?page=3&per_page=10",
    }


def test_links_leave_out_missing_pages_and_default_per_page(paged_app: erlen.Erlen) -> None:
    data = paged_app.test_client().get("/authors").json
    assert data is not None
    assert data["links"] == {
        "first": "/authors?page=1",
        "prev": None,
        "next": "/authors?page=2",
        "last": "/authors?page=2",
    }


def test_links_take_url_for_arguments(paged_app: erlen.Erlen, db: SQLAlchemy) -> None:
    with paged_app.test_request_context("/"):
        page = db.paginate(_select_authors(db), per_page=10, count=False)
        links = page.links("authors", _external=True, q="x")
    assert links["first"] == "http://localhost/authors?page=1&q=x&per_page=10"
    assert links["last"] is None
    assert links["next"] is None


class ListPagination(Pagination):
    """Pages of a list: the two hooks a Pagination subclass defines."""

    def _query_items(self) -> list[t.Any]:
        data: list[t.Any] = self._query_args["data"]
        return data[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["data"])


def _widget(pages: int, current: int, **kwargs: int) -> list[int | None]:
    page = ListPagination(page=current, per_page=1, data=list(range(pages)))
    return list(page.iter_pages(**kwargs))


def test_iter_pages_shows_edges_and_neighbours_with_gaps() -> None:
    assert _widget(20, 10) == [1, 2, None, 8, 9, 10, 11, 12, 13, 14, None, 19, 20]
    assert _widget(20, 1) == [1, 2, 3, 4, 5, None, 19, 20]
    assert _widget(20, 20) == [1, 2, None, 18, 19, 20]
    assert _widget(5, 3) == [1, 2, 3, 4, 5]
    assert _widget(1, 1) == [1]
    assert _widget(20, 10, left_edge=0, right_edge=0, left_current=1, right_current=1) == [
        None,
        9,
        10,
        11,
        None,
    ]


def test_a_pagination_subclass_turns_pages_of_the_same_kind() -> None:
    page = ListPagination(page=1, per_page=2, data=list(range(5)))
    following = page.next()
    assert isinstance(following, ListPagination)
    assert (following.page, following.items, following.total) == (2, [2, 3], 5)
    assert following.next().items == [4]
    assert following.prev().items == [0, 1]
