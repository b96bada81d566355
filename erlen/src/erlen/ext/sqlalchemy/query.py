"""The legacy query interface: ``Model.query``, ``db.session.query()`` and ``lazy="dynamic"``
relationships give a :class:`Query` with view helpers.

Legacy, as in SQLAlchemy 2 and Flask-SQLAlchemy 3.1: it stays for code written against it;
new code uses ``db.session.execute(db.select(...))`` and ``db.get_or_404`` / ``db.paginate``.
"""

from __future__ import annotations

import typing as t

import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as sa_orm

from erlen.helpers import abort

from .pagination import Pagination
from .pagination import QueryPagination

_T = t.TypeVar("_T")


class Query(sa_orm.Query[_T]):
    """A :class:`sqlalchemy.orm.Query` with ``get_or_404``, ``first_or_404``,
    ``one_or_404`` and ``paginate`` (legacy).
    """

    def get_or_404(self, ident: t.Any, description: str | None = None) -> _T:
        """The row with this primary key, or abort with 404 Not Found."""
        value = self.get(ident)
        if value is None:
            abort(404, description=description)
        return value

    def first_or_404(self, description: str | None = None) -> _T:
        """The first result, or abort with 404 Not Found if there are none."""
        value = self.first()
        if value is None:
            abort(404, description=description)
        return value

    def one_or_404(self, description: str | None = None) -> _T:
        """The only result, or abort with 404 Not Found if there isn't exactly one."""
        try:
            return self.one()
        except (sa_exc.NoResultFound, sa_exc.MultipleResultsFound):
            abort(404, description=description)

    def paginate(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = None,
        error_out: bool = True,
        count: bool = True,
    ) -> Pagination:
        """One page of the results; see :meth:`SQLAlchemy.paginate
        <erlen.ext.sqlalchemy.SQLAlchemy.paginate>` for the arguments.
        """
        return QueryPagination(
            query=self,
            page=page,
            per_page=per_page,
            max_per_page=max_per_page,
            error_out=error_out,
            count=count,
        )
