"""The app factory: configuration, extensions, blueprints, error handlers."""

from __future__ import annotations

import os
import typing as t

from erlen import Erlen

from . import admin
from .api_v1 import init_api
from .audit import init_audit
from .blueprints import account
from .blueprints import api
from .blueprints import auth
from .blueprints import board
from .blueprints import exports
from .blueprints import rooms
from .commands import init_commands
from .converters import init_converters
from .environments import configure
from .errors import register_error_handlers
from .extensions import init_extensions
from .health import views as health
from .logs import init_request_logging
from .metrics import init_metrics
from .security import init_security_headers
from .templating import init_templating


def create_app(
    config: t.Mapping[str, t.Any] | None = None, *, env: t.Mapping[str, str] | None = None
) -> Erlen:
    """Build the web app: configuration (web.environments), extensions, blueprints.

    :param config: overrides applied after every other source (tests use it).
    :param env: the environment to read instead of ``os.environ``.
    """
    env = os.environ if env is None else env
    instance = env.get("INSTANCE_PATH")
    # The package's folder, not this module's: templates, static files and migrations.
    app = Erlen("web", instance_path=os.path.abspath(instance) if instance else None)
    configure(app, env, config)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    init_request_logging(app)
    init_metrics(app)
    init_security_headers(app)
    init_extensions(app)
    init_audit(app)
    init_converters(app)
    init_templating(app)

    app.register_blueprint(board.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(rooms.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(exports.bp)
    init_api(app)

    register_error_handlers(app)
    init_commands(app)
    return app
