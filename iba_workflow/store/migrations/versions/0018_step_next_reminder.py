"""the next reminder a dispatcher tick has not yet handled, on the step, with its index: a
tick reads the steps whose reminder has come, not every open step inside its reminder
window again (with their enrollments and staff) on every tick; the single-column index on
``remind_from`` goes (``ix_step_instance_status_remind`` answers its one question)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_instance") as batch_op:
        batch_op.add_column(sa.Column("next_reminder", sa.Date(), nullable=True))
        batch_op.drop_index("ix_step_instance_remind_from")
    # no reminder of an open step is known to be handled: the first tick reads each once,
    # finds what it has sent (its message ids) and moves them on
    op.execute(
        "UPDATE step_instance SET next_reminder = remind_from"
        " WHERE status IN ('planned', 'due', 'notified') AND remind_from IS NOT NULL"
    )
    op.create_index(
        "ix_step_instance_status_next_reminder", "step_instance", ["status", "next_reminder"]
    )


def downgrade() -> None:
    op.drop_index("ix_step_instance_status_next_reminder", table_name="step_instance")
    with op.batch_alter_table("step_instance") as batch_op:
        batch_op.create_index("ix_step_instance_remind_from", ["remind_from"], unique=False)
        batch_op.drop_column("next_reminder")
