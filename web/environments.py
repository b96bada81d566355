"""Development, Testing, Production: the configuration classes, and how sources layer.

One class per environment holds the defaults that differ between them; the environment
variables (:mod:`web.config`, 12-factor, every one in .env.example) say where the services
are. :func:`configure` layers the sources, later ones winning:

1. the environment's class (:func:`environment_class`);
2. the environment variables, validated (:func:`web.config.from_env`);
3. ``instance/config.py``, if there is one (a Python file of ``UPPER_CASE = value`` lines;
   the instance folder is ``instance/`` beside the code, or ``$INSTANCE_PATH``);
4. ``ERLEN_<KEY>`` variables, any config key, values read as JSON where they parse
   (``ERLEN_PERMANENT_SESSION_LIFETIME=3600``; ``__`` reaches into a dict:
   ``ERLEN_SQLALCHEMY_ENGINE_OPTIONS__pool_size=10``);
5. ``create_app``'s ``config`` argument (tests).

``.env`` feeds step 2 and 4: compose reads it for ``make up``, and ``make dev`` and the
``erlen`` command load it (without overriding the real environment). Production then judges
the result, not just the variables: a weak key or debug mode from any layer is refused.
"""

from __future__ import annotations

import os
import typing as t

from erlen import Erlen

from .config import environment
from .config import from_env
from .config import unsafe_settings
from .config import UnsafeSettings


class Config:
    """What every environment shares."""

    #: The name on every page and mail (``scripts/rename.py`` changes it).
    SITE_NAME = "erlen starter"
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    # nginx's client_max_body_size, so a request that bypasses nginx meets the same limit.
    MAX_CONTENT_LENGTH = 1024 * 1024
    #: Readable log lines, for a person at a terminal.
    LOG_FORMAT = "text"
    # Periodic jobs, run by exactly one worker (erlen.ext.jobs' scheduler).
    JOBS_SCHEDULE = {
        "purge-expired": {"cron": "*/15 * * * *", "job": "purge_expired"},
    }


class Development(Config):
    """``make dev`` (embedded) and development stacks (``ERLEN_ENV=development``)."""

    TEMPLATES_AUTO_RELOAD = True
    # Shows the query behind a slow page in the dev server's log.
    SQLALCHEMY_RECORD_QUERIES = True


class Testing(Config):
    """The test suites (``ERLEN_ENV=testing``): errors reach the test instead of a 500 page."""

    TESTING = True


class Production(Config):
    """``make up`` and Kubernetes: real services, no debug mode, a strong key."""

    #: One JSON object per line, for log collectors.
    LOG_FORMAT = "json"
    TEMPLATES_AUTO_RELOAD = False


ENVIRONMENTS: dict[str, type[Config]] = {
    "development": Development,
    "testing": Testing,
    "production": Production,
}


def environment_class(env: t.Mapping[str, str]) -> type[Config]:
    """The class for ``ERLEN_ENV``; embedded mode (no services) is never production."""
    return ENVIRONMENTS[environment(env)]


def configure(
    app: Erlen, env: t.Mapping[str, str], overrides: t.Mapping[str, t.Any] | None = None
) -> None:
    """Layer the configuration sources into ``app.config`` (see the module's docstring).

    :raises ConfigError: a variable is missing or malformed.
    :raises UnsafeSettings: production, and the result has unsafe settings (all listed).
    """
    cls = environment_class(env)
    app.config.from_object(cls)
    app.config.from_mapping(from_env(app.instance_path, env))
    app.config.from_pyfile(os.path.join(app.instance_path, "config.py"), silent=True)
    # Only the real environment: tests that pass their own ``env`` must not pick up the
    # shell's ERLEN_* variables.
    if env is os.environ:
        app.config.from_prefixed_env("ERLEN")
    if overrides:
        app.config.update(overrides)
    app.config["ENVIRONMENT"] = next(name for name, c in ENVIRONMENTS.items() if c is cls)
    if cls is Production:
        problems = unsafe_settings(env, app.config.get("SECRET_KEY") or "", app.config["DEBUG"])
        if problems:
            raise UnsafeSettings(problems)
