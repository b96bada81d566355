"""Page-number pagination: bounded query parameters, and a page model with navigation links."""

from __future__ import annotations

import typing as t
from collections.abc import Sequence
from urllib.parse import urlencode

from pydantic import BaseModel
from pydantic import Field

from ...globals import request

T = t.TypeVar("T")

#: The largest page number accepted: far past any real data, yet small enough that
#: ``(page - 1) * per_page`` stays a valid SQL ``OFFSET``.
MAX_PAGE = 2**31 - 1


# The docstrings of these models are their descriptions in the OpenAPI document, so they
# speak to API clients. Out-of-range pages are rejected (422) rather than clamped, so a client
# learns about its mistake; subclass PageParams to change the page size limit or add filters.


class PageParams(BaseModel):
    """Page-number pagination: ``page`` counts from 1, with ``per_page`` items on each."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="The page number, from 1.")
    per_page: int = Field(default=20, ge=1, le=100, description="The number of items per page.")

    @property
    def offset(self) -> int:
        """The index of the first item on the page."""
        return (self.page - 1) * self.per_page


class PageLinks(BaseModel):
    """Absolute URLs of this page and its neighbours; ``next`` and ``prev`` are null at the ends."""

    self_: str = Field(alias="self", description="This page.")
    first: str = Field(description="The first page.")
    last: str = Field(description="The last page (the first, when there are no items).")
    next: str | None = Field(description="The next page, if there is one.")
    prev: str | None = Field(description="The previous page, if there is one.")


class Page(BaseModel, t.Generic[T]):
    """One page of items, with the total count and links to the other pages."""

    items: list[T]
    page: int = Field(description="The page number, from 1.")
    per_page: int = Field(description="The page size.")
    total: int = Field(description="The number of items on all pages.")
    links: PageLinks

    @classmethod
    def build(cls, items: Sequence[T], *, total: int, params: PageParams) -> Page[T]:
        """A page of ``items`` already cut to size (from a database query), with links to the
        current URL's neighbours (the other query arguments are kept)."""
        last = max(1, -(-total // params.per_page))
        return cls(
            items=list(items),
            page=params.page,
            per_page=params.per_page,
            total=total,
            links=PageLinks.model_validate(
                {
                    "self": _page_url(params.page, params.per_page),
                    "first": _page_url(1, params.per_page),
                    "last": _page_url(last, params.per_page),
                    "next": _page_url(params.page + 1, params.per_page)
                    if params.page < last
                    else None,
                    "prev": _page_url(min(params.page - 1, last), params.per_page)
                    if params.page > 1
                    else None,
                }
            ),
        )


def _page_url(page: int, per_page: int) -> str:
    args = request.args.copy()
    args["page"] = str(page)
    args["per_page"] = str(per_page)
    return f"{request.base_url}?{urlencode(list(args.items(multi=True)))}"


def paginate_list(items: Sequence[T], params: PageParams) -> Page[T]:
    """Cut one page out of an in-memory sequence.

    A page past the end is empty, not an error, so a client paging while items are deleted
    just stops.
    """
    window = items[params.offset : params.offset + params.per_page]
    return Page.build(window, total=len(items), params=params)
