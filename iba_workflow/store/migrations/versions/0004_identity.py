"""staff sessions, e-mail sign-in tokens, API keys, what a coordinator coordinates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from iba_workflow.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", _str(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("method", _str(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_reason", _str(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sid_hash"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "sign_in_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _str(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("sign_in_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_token_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_token_outbox_id"), ["outbox_id"], unique=False)

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", _str(), nullable=False),
        sa.Column("label", _str(), nullable=False),
        sa.Column("name", _str(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", _str(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )

    op.create_table(
        "staff_coordinates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", _str(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "definition_id"),
    )
    with op.batch_alter_table("staff_coordinates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_coordinates_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_coordinates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_coordinates_staff_id"))
    op.drop_table("staff_coordinates")
    op.drop_table("api_key")
    with op.batch_alter_table("sign_in_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_token_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_sign_in_token_staff_id"))
    op.drop_table("sign_in_token")
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_staff_id"))
    op.drop_table("staff_session")
