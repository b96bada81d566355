"""The app's extensions, created unbound here and bound to the app in :func:`init_extensions`.

Importing them (``from web.extensions import db``) never needs an app, so services and jobs
can be imported anywhere.
"""

from __future__ import annotations

from pathlib import Path

from erlen import Erlen
from erlen import g
from erlen import Request
from erlen.ext.csrf import CSRFProtect
from erlen.ext.jobs import Jobs
from erlen.ext.login import current_user
from erlen.ext.login import LoginManager
from erlen.ext.login import LoginThrottle
from erlen.ext.login import token_request_loader
from erlen.ext.migrate import Migrate
from erlen.ext.outbox import Outbox
from erlen.ext.realtime import Publisher
from erlen.ext.sqlalchemy import SQLAlchemy

from .models import Base
from .models import User
from .services import accounts
from .services.tokens import SqlTokenStore

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(MIGRATIONS))
jobs = Jobs()
publisher = Publisher()
# The jobs and events a write implies, stored in the write's transaction (the erlen_outbox
# table, on the models' metadata so migrations see it); delivered after the commit, or by
# the relay that runs beside every job worker.
outbox = Outbox(Base.metadata, jobs=jobs, publisher=publisher)
csrf = CSRFProtect()
# API tokens (``Authorization: Bearer erl_...``) live in the api_tokens table.
login_manager = LoginManager(token_store=SqlTokenStore(db.session))
throttle = LoginThrottle(limit=10, window=60)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


login_manager.request_loader(token_request_loader(load_user))


@csrf.exempt_if
def authenticated_by_token(request: Request) -> bool:
    """A request a token authenticated needs no CSRF token: browsers never attach one on
    their own. (With a session cookie, the session's user wins and the check applies.)"""
    return bool(current_user.is_authenticated) and "api_token" in g


@login_manager.epoch_bumper
def bump_epoch(user: User) -> None:
    accounts.revoke_all_sessions(session=db.session, user=user)


def init_extensions(app: Erlen) -> None:
    db.init_app(app)
    migrate.init_app(app, db)
    jobs.init_app(app)
    publisher.init_app(app)
    outbox.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    throttle.init_app(app)
