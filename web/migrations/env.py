"""Alembic's environment for this app's migrations, written by ``erlen db init``.

The engine and the models' metadata come from the app's database extension, so the database
URL (``DATABASE_URL``) is the only setting; there is no alembic.ini. Run it through
``erlen --app <app> db ...`` or ``erlen.ext.migrate.upgrade(app)``. This file is yours to
edit; extra ``context.configure()`` arguments can also be given to ``Migrate(...)``.
"""

from __future__ import annotations

import typing as t

from alembic import context
from erlen.ext.migrate.environment import MigrationEnvironment

from web.models.base import UTCDateTime

env = MigrationEnvironment.from_config(context.config)


def render_item(type_: str, obj: t.Any, autogen_context: t.Any) -> str | t.Literal[False]:
    """How ``db revision --autogenerate`` writes a column type: the app's ``UTCDateTime`` as
    the timezone-aware ``DateTime`` it stores, so a migration never imports the app (and
    stays right after the model code changes). Everything else as Alembic would."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``--sql``) instead of connecting."""
    context.configure(
        url=env.url,
        target_metadata=env.metadata,
        literal_binds=True,
        render_item=render_item,
        **env.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Connect with the app's engine and migrate in one transaction."""
    with env.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=env.metadata,
            render_item=render_item,
            **env.configure_args,
        )
        with context.begin_transaction():
            # On Postgres, runs that start together (several containers) queue here; each
            # reads the current revision only once it holds the lock.
            env.lock(connection)
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
