"""group steps: a step instance of a per_group step carries its group occurrence

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_instance") as batch:
        batch.add_column(sa.Column("group_key", sa.String(), nullable=True))
        batch.create_index("ix_step_instance_group_key", ["group_key"])


def downgrade() -> None:
    with op.batch_alter_table("step_instance") as batch:
        batch.drop_index("ix_step_instance_group_key")
        batch.drop_column("group_key")
