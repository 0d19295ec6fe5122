"""composite indexes for the dispatcher's due/reminder/escalation questions, the outbox
claim and the (citizen, definition) check of a visitation

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_enrollment_citizen_definition", "enrollment", ["citizen_id", "definition_id"]),
    ("ix_step_instance_status_due", "step_instance", ["status", "due_date", "id"]),
    ("ix_step_instance_status_remind", "step_instance", ["status", "remind_from"]),
    ("ix_step_instance_status_escalation", "step_instance", ["status", "escalation_date"]),
    ("ix_outbox_status_next_attempt", "outbox", ["status", "next_attempt_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
