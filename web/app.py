"""The app factory: configuration, extensions, blueprints, error handlers."""

from __future__ import annotations

import os
import typing as t

from erlen import Erlen

from . import admin
from . import config as config_module
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
from .errors import register_error_handlers
from .extensions import init_extensions
from .health import views as health
from .logs import init_request_logging
from .security import init_security_headers
from .templating import init_templating


def create_app(
    config: t.Mapping[str, t.Any] | None = None, *, env: t.Mapping[str, str] | None = None
) -> Erlen:
    """Build the web app: configuration from the environment, extensions, blueprints.

    :param config: overrides applied after the environment (tests use it).
    :param env: the environment to read instead of ``os.environ``.
    """
    env = os.environ if env is None else env
    instance = env.get("INSTANCE_PATH")
    # The package's folder, not this module's: templates, static files and migrations.
    app = Erlen("web", instance_path=os.path.abspath(instance) if instance else None)
    app.config.from_mapping(config_module.from_env(app.instance_path, env))
    if config:
        app.config.update(config)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    init_request_logging(app)
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
