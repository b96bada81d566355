"""The app's extensions, created unbound here and bound to the app in :func:`init_extensions`.

Importing them (``from web.extensions import db``) never needs an app, so models, services
and jobs can be imported anywhere.
"""

from __future__ import annotations

from pathlib import Path

from erlen import Erlen
from erlen.ext.csrf import CSRFProtect
from erlen.ext.jobs import Jobs
from erlen.ext.migrate import Migrate
from erlen.ext.realtime import Publisher
from erlen.ext.sqlalchemy import SQLAlchemy

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

db = SQLAlchemy()
migrate = Migrate(directory=str(MIGRATIONS))
jobs = Jobs()
publisher = Publisher()
csrf = CSRFProtect()


def init_extensions(app: Erlen) -> None:
    db.init_app(app)
    migrate.init_app(app, db)
    jobs.init_app(app)
    publisher.init_app(app)
    csrf.init_app(app)
