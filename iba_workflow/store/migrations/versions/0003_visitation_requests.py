"""visitation requests received by a door, processed by the intervention's flow

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from iba_workflow.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("definition_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("accept", sa.Boolean(), nullable=False),
        sa.Column("reject_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("cohort", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("duration_weeks", sa.Integer(), nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("visitation_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"]),
        sa.ForeignKeyConstraint(["visitation_id"], ["visitation.id"]),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("visitation_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visitation_request_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_visitation_request_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visitation_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitation_request_status"))
        batch_op.drop_index(batch_op.f("ix_visitation_request_definition_id"))
    op.drop_table("visitation_request")
