"""${message}

Revision: ${up_revision}
Parent: ${comma(down_revision) if down_revision else "(none: the first revision)"}
Written: ${create_date}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 - for the revision's code
from alembic import op  # noqa: F401
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    """Move the schema forward to this revision."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Move the schema back to the parent revision."""
    ${downgrades if downgrades else "pass"}
