"""workspace: an index for "open steps up to a date" (Min uge, overdue counts)

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_step_instance_status_due", "step_instance", ["status", "due_date"])


def downgrade() -> None:
    op.drop_index("ix_step_instance_status_due", table_name="step_instance")
