"""SQLAlchemy 2 for erlen apps: ``db.Model``, ``db.session``, engines from ``DATABASE_URL``,
binds, and the view helpers ``get_or_404``, ``first_or_404``, ``one_or_404`` and ``paginate``.

Modelled on Flask-SQLAlchemy 3.1; see ``docs/ext/sqlalchemy.md``.
"""

from __future__ import annotations

from .engines import normalize_url as normalize_url
from .extension import SQLAlchemy as SQLAlchemy
from .model import Model as Model
from .model import NAMING_CONVENTION as NAMING_CONVENTION
from .pagination import Pagination as Pagination
from .session import Session as Session
from .session import SessionLike as SessionLike
