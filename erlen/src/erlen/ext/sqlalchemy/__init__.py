"""SQLAlchemy 2 for erlen apps: ``db.Model``, ``db.session``, engines from ``DATABASE_URL``,
binds, and the view helpers ``get_or_404``, ``first_or_404``, ``one_or_404`` and ``paginate``.

The public API of Flask-SQLAlchemy 3.1, under the same names and submodules (``model``,
``query``, ``pagination``, ``session``, ``table``, ``cli``, ``record_queries``,
``track_modifications``); see ``docs/ext/sqlalchemy.md``.
"""

from __future__ import annotations

import typing as t

from .engines import normalize_url as normalize_url
from .extension import SQLAlchemy as SQLAlchemy
from .model import Model as Model
from .model import NAMING_CONVENTION as NAMING_CONVENTION
from .pagination import Pagination as Pagination
from .query import Query as Query
from .session import Session as Session
from .session import SessionLike as SessionLike


def __getattr__(name: str) -> t.Any:
    if name == "__version__":
        import warnings

        warnings.warn(
            "The '__version__' attribute is deprecated and will be removed in a future"
            " version. Use feature detection or 'importlib.metadata.version(\"erlen\")'"
            " instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        # The Flask-SQLAlchemy version whose API this implements, for version checks.
        return "3.1.1"
    raise AttributeError(name)
