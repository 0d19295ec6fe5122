"""who submitted a visitation request through the API (``apikey:3``, ``jwt:<client>``):
``GET /api/visitations/{request}`` answers only the credential that submitted it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitation_request") as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visitation_request") as batch_op:
        batch_op.drop_column("submitted_by")
