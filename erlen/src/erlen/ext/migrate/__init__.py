"""Alembic migrations for erlen apps, in the manner of Flask-Migrate.

``Migrate(app, db)`` adds the ``erlen db`` commands (``init``, ``revision``, ``upgrade``,
``downgrade``, ``current``, ``heads``, ``history``, ``check``, ``stamp`` …). The same operations
are functions for code, and :func:`migration_state` answers readiness probes (a database
migrated ahead by a newer release during a rolling deploy still counts as ready).
"""

from __future__ import annotations

from .environment import MigrationEnvironment as MigrationEnvironment
from .extension import Migrate as Migrate
from .extension import MigrateState as MigrateState
from .migrations import alembic_config as alembic_config
from .migrations import check as check
from .migrations import current_revisions as current_revisions
from .migrations import downgrade as downgrade
from .migrations import head_revisions as head_revisions
from .migrations import init as init
from .migrations import merge as merge
from .migrations import migration_state as migration_state
from .migrations import migrations_at_head as migrations_at_head
from .migrations import MigrationState as MigrationState
from .migrations import revision as revision
from .migrations import SchemaDriftError as SchemaDriftError
from .migrations import stamp as stamp
from .migrations import upgrade as upgrade
