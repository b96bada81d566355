"""user roles: an email address, the admin flag, deactivation

Revision: 5b0c7d1e2a90
Parent: 36f54a174142
Written: 2026-12-04 02:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0c7d1e2a90"
down_revision: str | Sequence[str] | None = "36f54a174142"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Move the schema forward to this revision."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default="false", nullable=False)
        )
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(batch.f("uq_users_email"), ["email"])


def downgrade() -> None:
    """Move the schema back to the previous revision."""
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_email"), type_="unique")
        batch.drop_column("deactivated_at")
        batch.drop_column("is_admin")
        batch.drop_column("email")
