"""Pages of a ``select()``: the page and size from the request, and the numbers a widget needs."""

from __future__ import annotations

import math
import typing as t

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm

from erlen.globals import current_request_context
from erlen.helpers import abort
from erlen.helpers import url_for

#: Items per page when neither the caller nor the request says.
DEFAULT_PER_PAGE = 20
#: The largest ``per_page`` a request gets unless the caller allows more.
DEFAULT_MAX_PER_PAGE = 100
# Databases keep LIMIT and OFFSET in a signed 64-bit integer; past it they fail the query.
_MAX_SQL_INT = 2**63 - 1


def _arg(name: str, default: int, error_out: bool) -> int:
    """An integer query argument of the current request, if there is a request."""
    req_ctx = current_request_context()
    if req_ctx is None:
        return default
    raw = req_ctx.request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        if error_out:
            abort(404, description=f"The {name!r} argument must be a whole number, not {raw!r}.")
        return default


def page_args(
    page: int | None, per_page: int | None, max_per_page: int | None, error_out: bool
) -> tuple[int, int]:
    """Decide the page number and size, reading ``page``/``per_page`` from the request.

    A value that isn't a whole number, a page below 1 or a size below 1 is a 404 when
    ``error_out`` is true, and the default otherwise. A size above ``max_per_page`` is
    lowered to it.
    """
    if page is None:
        page = _arg("page", 1, error_out)
    if per_page is None:
        per_page = _arg("per_page", DEFAULT_PER_PAGE, error_out)
    if max_per_page is None:
        max_per_page = DEFAULT_MAX_PER_PAGE
    per_page = min(per_page, max_per_page, _MAX_SQL_INT)

    if page < 1:
        if error_out:
            abort(404, description=f"There is no page {page}; pages start at 1.")
        page = 1
    if per_page < 1:
        if error_out:
            abort(404, description=f"A page can't hold {per_page} items; ask for 1 or more.")
        per_page = DEFAULT_PER_PAGE
    return page, per_page


class Pagination:
    """One page of results, with what's needed to link to the others.

    Made by :meth:`SQLAlchemy.paginate <erlen.ext.sqlalchemy.SQLAlchemy.paginate>` (a
    :class:`SelectPagination`) and the legacy ``Query.paginate`` (a
    :class:`QueryPagination`). Iterating over it iterates over :attr:`items`.

    A subclass defines :meth:`_query_items` and :meth:`_query_count`; the keyword arguments
    beyond the page settings are kept in ``_query_args`` for them (and for :meth:`next` and
    :meth:`prev`, which make another page of the same kind).

    :param page: The page number, starting at 1; default: the request's ``?page=``, else 1.
    :param per_page: Items per page; default: the request's ``?per_page=``, else 20.
    :param max_per_page: The most items a page may hold; 100 when ``None``.
    :param error_out: Answer 404 for bad values and for an empty page past the first.
    :param count: Count all items, for :attr:`total` and :attr:`pages`.
    """

    def __init__(
        self,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = DEFAULT_MAX_PER_PAGE,
        error_out: bool = True,
        count: bool = True,
        **kwargs: t.Any,
    ) -> None:
        self._query_args = kwargs
        page, per_page = page_args(page, per_page, max_per_page, error_out)
        #: The current page number, starting at 1.
        self.page = page
        #: The most items a page holds.
        self.per_page = per_page
        #: The cap ``per_page`` was subject to.
        self.max_per_page = max_per_page
        items = self._query_items()
        if not items and page != 1 and error_out:
            abort(404, description=f"Page {page} is past the last page.")
        #: The items on this page.
        self.items: list[t.Any] = items
        #: The number of items on all pages, or ``None`` if not counted.
        self.total: int | None = self._query_count() if count else None

    @property
    def _query_offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page

    def _query_items(self) -> list[t.Any]:
        """The items of this page."""
        raise NotImplementedError

    def _query_count(self) -> int:
        """The number of items on all pages."""
        raise NotImplementedError

    @property
    def first(self) -> int:
        """The 1-based number of the first item on the page, or 0 if the page is empty."""
        if not self.items:
            return 0
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        """The 1-based number of the last item on the page, or 0 if the page is empty."""
        if not self.items:
            return 0
        return self.first + len(self.items) - 1

    @property
    def pages(self) -> int:
        """The number of pages, or 0 if there are no items or they weren't counted."""
        if not self.total:
            return 0
        return math.ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        """Whether there is a page before this one."""
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        """The previous page's number, if there is one."""
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        """Whether there is a page after this one (false when the total wasn't counted)."""
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        """The next page's number, if there is one."""
        return self.page + 1 if self.has_next else None

    def prev(self, *, error_out: bool = False) -> Pagination:
        """Query the previous page, with the same page size."""
        return self._go_to(max(self.page - 1, 1), error_out)

    def next(self, *, error_out: bool = False) -> Pagination:
        """Query the next page, with the same page size."""
        return self._go_to(self.page + 1, error_out)

    def _go_to(self, page: int, error_out: bool) -> Pagination:
        other = type(self)(
            page=page,
            per_page=self.per_page,
            max_per_page=self.max_per_page,
            error_out=error_out,
            count=False,
            **self._query_args,
        )
        # The total was counted already (or not at all); it hasn't changed meaning.
        other.total = self.total
        return other

    def iter_pages(
        self,
        *,
        left_edge: int = 2,
        left_current: int = 2,
        right_current: int = 4,
        right_edge: int = 2,
    ) -> t.Iterator[int | None]:
        """Page numbers for a pagination widget, with ``None`` where numbers are skipped.

        Shows ``left_edge`` pages from the start, ``right_edge`` pages at the end, and the
        current page with ``left_current`` pages before and ``right_current`` after it. For
        page 10 of 20 with the defaults: ``1, 2, None, 8, 9, 10, 11, 12, 13, 14, None, 19, 20``.
        """
        pages = self.pages
        shown = [
            range(1, min(left_edge, pages) + 1),
            range(max(self.page - left_current, 1), min(self.page + right_current, pages) + 1),
            range(max(pages - right_edge + 1, 1), pages + 1),
        ]
        previous = 0
        for number in sorted(set().union(*shown)):
            if number > previous + 1:
                yield None
            yield number
            previous = number
        if previous < pages:
            yield None

    def links(self, endpoint: str, **values: t.Any) -> dict[str, str | None]:
        """URLs of the first, previous, next and last pages, built with :func:`url_for`.

        Missing pages (``prev`` on the first page, ``next`` and ``last`` when the total wasn't
        counted) are ``None``. ``per_page`` is kept in the URL when it isn't the default.

        :param endpoint: The endpoint that serves the pages.
        :param values: More arguments for :func:`url_for`, e.g. view arguments or
            ``_external=True``.
        """
        if self.per_page != DEFAULT_PER_PAGE:
            values.setdefault("per_page", self.per_page)

        def page_url(number: int | None) -> str | None:
            if number is None:
                return None
            return url_for(endpoint, page=number, **values)

        return {
            "first": page_url(1),
            "prev": page_url(self.prev_num),
            "next": page_url(self.next_num),
            "last": page_url(self.pages or None),
        }

    def __iter__(self) -> t.Iterator[t.Any]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"<Pagination page={self.page} per_page={self.per_page} total={self.total}>"


class SelectPagination(Pagination):
    """Pages of a ``select()`` statement (its first column), from ``db.paginate``."""

    def _query_items(self) -> list[t.Any]:
        select: sa.Select[t.Any] = self._query_args["select"]
        session: sa_orm.Session | sa_orm.scoped_session[t.Any] = self._query_args["session"]
        offset = self._query_offset
        if offset > _MAX_SQL_INT - self.per_page:
            # No table has that many rows, and the database would fail on the OFFSET.
            return []
        result = session.execute(select.limit(self.per_page).offset(offset))
        return list(result.unique().scalars())

    def _query_count(self) -> int:
        items, offset = self.items, self._query_offset
        if len(items) < self.per_page and (items or self.page == 1):
            # A short page is the last one, so the rows before it and on it are all there is.
            return offset + len(items)
        select: sa.Select[t.Any] = self._query_args["select"]
        session: sa_orm.Session | sa_orm.scoped_session[t.Any] = self._query_args["session"]
        counted = sa.select(sa.func.count()).select_from(select.order_by(None).subquery())
        return int(session.execute(counted).scalar_one())


class QueryPagination(Pagination):
    """Pages of a legacy :class:`~erlen.ext.sqlalchemy.query.Query`, from
    ``Query.paginate``.
    """

    def _query_items(self) -> list[t.Any]:
        query: sa_orm.Query[t.Any] = self._query_args["query"]
        if self._query_offset > _MAX_SQL_INT - self.per_page:
            return []
        return query.limit(self.per_page).offset(self._query_offset).all()

    def _query_count(self) -> int:
        items, offset = self.items, self._query_offset
        if len(items) < self.per_page and (items or self.page == 1):
            return offset + len(items)
        query: sa_orm.Query[t.Any] = self._query_args["query"]
        return query.order_by(None).count()
