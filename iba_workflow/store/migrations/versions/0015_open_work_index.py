"""a partial, covering index for the workspace: a person's open work by date (Min uge,
Forløb), leaving out the weekly lessons

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

WHERE = sa.text("kind != 'session'")
COLUMNS = ["status", "due_date", "id", "enrollment_id", "assignee_role", "assigned_staff_id"]


def upgrade() -> None:
    op.create_index(
        "ix_step_instance_open_work",
        "step_instance",
        COLUMNS,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_step_instance_open_work", table_name="step_instance")
