"""link tokens and meeting invitation sequences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from iba_workflow.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("step_instance_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_by_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["step_instance_id"], ["step_instance.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["used_by_staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_token_step_instance_id"), ["step_instance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_link_token_outbox_id"), ["outbox_id"], unique=False)

    op.create_table(
        "meeting_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_instance_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["step_instance_id"], ["step_instance.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_instance_id", "staff_id"),
    )


def downgrade() -> None:
    op.drop_table("meeting_invitation")
    with op.batch_alter_table("link_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_token_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_link_token_step_instance_id"))
    op.drop_table("link_token")
