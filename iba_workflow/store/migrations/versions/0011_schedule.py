"""week schedules: fixed commitments, staff hours and calendars, enrollment contacts,
meetings, saved placements and .ics feeds (issue 12)

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from iba_workflow.store.types import UTCDateTime

revision = "0011"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_placement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_placement_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_placement_person"), ["person"], unique=False)
        batch_op.create_index(batch_op.f("ix_schedule_placement_week"), ["week"], unique=False)

    op.create_table(
        "schedule_commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("counts_toward_hours", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_uid", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_commitment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_commitment_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_commitment_source_uid"), ["source_uid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_commitment_staff_id"), ["staff_id"], unique=False
        )

    op.create_table(
        "schedule_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("schedule_feed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_feed_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_feed_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staff_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_calendar", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_calendar_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staff_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "weekday"),
    )
    op.create_table(
        "enrollment_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enrollment_contact", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollment_contact_enrollment_id"), ["enrollment_id"], unique=False
        )

    op.create_table(
        "schedule_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("staff_ids", sa.JSON(), nullable=False),
        sa.Column("contact_ids", sa.JSON(), nullable=False),
        sa.Column("citizen_attends", sa.Boolean(), nullable=False),
        sa.Column("proposals", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=True),
        sa.Column("end", UTCDateTime(), nullable=True),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("deadline", UTCDateTime(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("booked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_meeting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_meeting_enrollment_id"), ["enrollment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_meeting_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("schedule_meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_meeting_status"))
        batch_op.drop_index(batch_op.f("ix_schedule_meeting_enrollment_id"))

    op.drop_table("schedule_meeting")
    with op.batch_alter_table("enrollment_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_contact_enrollment_id"))

    op.drop_table("enrollment_contact")
    op.drop_table("staff_hours")
    with op.batch_alter_table("staff_calendar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_calendar_staff_id"))

    op.drop_table("staff_calendar")
    with op.batch_alter_table("schedule_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_feed_staff_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_feed_citizen_id"))

    op.drop_table("schedule_feed")
    with op.batch_alter_table("schedule_commitment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_commitment_staff_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_commitment_source_uid"))
        batch_op.drop_index(batch_op.f("ix_schedule_commitment_citizen_id"))

    op.drop_table("schedule_commitment")
    with op.batch_alter_table("schedule_placement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_placement_week"))
        batch_op.drop_index(batch_op.f("ix_schedule_placement_person"))
        batch_op.drop_index(batch_op.f("ix_schedule_placement_definition_id"))

    op.drop_table("schedule_placement")
