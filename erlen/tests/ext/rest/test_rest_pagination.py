"""Pagination: bounded parameters, slicing, totals and navigation links."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel
from pydantic import Field
from pydantic import ValidationError
from rest_sample import Store

import erlen
from erlen.ext.rest import Page
from erlen.ext.rest import PageParams
from erlen.ext.rest import paginate_list
from erlen.testing import FlaskClient


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_page_params_default_to_the_first_page_of_twenty() -> None:
    params = PageParams()
    assert (params.page, params.per_page, params.offset) == (1, 20, 0)


@pytest.mark.parametrize("values", [{"page": 0}, {"per_page": 0}, {"per_page": 101}])
def test_page_params_reject_values_out_of_bounds(values: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        PageParams(**values)


def test_page_size_limit_is_changed_by_subclassing() -> None:
    class BigPages(PageParams):
        per_page: int = Field(default=50, ge=1, le=500)

    assert BigPages(per_page=500).per_page == 500


def test_paginate_list_cuts_out_the_requested_page(app: erlen.Erlen) -> None:
    with app.test_request_context("/items?page=2&per_page=3"):
        page = paginate_list(list(range(10)), PageParams(page=2, per_page=3))
    assert (page.items, page.total, page.page, page.per_page) == ([3, 4, 5], 10, 2, 3)


def test_links_point_to_first_last_and_both_neighbours(app: erlen.Erlen) -> None:
    with app.test_request_context("/items?page=2&per_page=3", base_url="https://example.com"):
        links = paginate_list(list(range(10)), PageParams(page=2, per_page=3)).links
    assert links.self_.startswith("https://example.com/items?")
    assert query_of(links.self_)["page"] == ["2"]
    assert query_of(links.first)["page"] == ["1"]
    assert query_of(links.last)["page"] == ["4"]
    assert links.next is not None and query_of(links.next)["page"] == ["3"]
    assert links.prev is not None and query_of(links.prev)["page"] == ["1"]
    assert all(query_of(url)["per_page"] == ["3"] for url in (links.self_, links.first))


def test_first_page_has_no_prev_and_last_page_no_next(app: erlen.Erlen) -> None:
    with app.test_request_context("/items"):
        first = paginate_list(list(range(5)), PageParams(per_page=2))
        last = paginate_list(list(range(5)), PageParams(page=3, per_page=2))
    assert first.links.prev is None and first.links.next is not None
    assert last.links.next is None and last.links.prev is not None


def test_empty_list_is_one_empty_page(app: erlen.Erlen) -> None:
    with app.test_request_context("/items"):
        page: Page[int] = paginate_list([], PageParams())
    assert (page.items, page.total) == ([], 0)
    assert query_of(page.links.last)["page"] == ["1"]
    assert page.links.next is None and page.links.prev is None


def test_page_past_the_end_is_empty_and_points_back_to_the_last(app: erlen.Erlen) -> None:
    with app.test_request_context("/items?page=9"):
        page = paginate_list(list(range(5)), PageParams(page=9, per_page=2))
    assert page.items == []
    assert page.links.prev is not None and query_of(page.links.prev)["page"] == ["3"]


def test_links_keep_the_other_query_arguments(app: erlen.Erlen) -> None:
    with app.test_request_context("/items?name=an&tag=a&tag=b"):
        page = paginate_list(list(range(50)), PageParams())
    assert page.links.next is not None
    assert query_of(page.links.next) == {
        "name": ["an"],
        "tag": ["a", "b"],
        "page": ["2"],
        "per_page": ["20"],
    }


def test_page_build_wraps_an_already_cut_page(app: erlen.Erlen) -> None:
    # As from a database: the query fetched one page and counted the rest.
    with app.test_request_context("/items?page=3&per_page=10"):
        page = Page[int].build([20, 21], total=22, params=PageParams(page=3, per_page=10))
    assert (page.items, page.total, page.links.next) == ([20, 21], 22, None)


class Item(BaseModel):
    id: int


def test_page_of_models_serialises_links_under_self(app: erlen.Erlen) -> None:
    with app.test_request_context("/items"):
        page = paginate_list([Item(id=1)], PageParams())
    data = page.model_dump(by_alias=True)
    assert data["items"] == [{"id": 1}]
    assert "self" in data["links"]


def test_walking_next_links_visits_every_thing_once(api_client: FlaskClient, store: Store) -> None:
    for n in range(7):
        api_client.post("/api/things", json={"name": f"thing {n}"})
    url: str | None = "/api/things?per_page=3"
    seen: list[int] = []
    while url is not None:
        data = api_client.get(url).get_json()
        seen += [item["id"] for item in data["items"]]
        url = data["links"]["next"]
    assert seen == list(range(1, 8))
