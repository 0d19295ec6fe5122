"""identity fields encrypted at rest; keyed CPR digest for lookups

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-02

Existing plaintext rows are encrypted with the primary key of ``IBA_IDENTITY_KEYS``
(or the key file under ``IBA_DATA_DIR``). Downgrade writes plaintext back.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from iba_workflow.privacy.identity import seal_identity_rows

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_identity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cpr_hmac", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_citizen_identity_cpr_hmac"), ["cpr_hmac"], unique=False
        )
    seal_identity_rows(op.get_bind())


def downgrade() -> None:
    seal_identity_rows(op.get_bind(), decrypt=True)
    with op.batch_alter_table("citizen_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_identity_cpr_hmac"))
        batch_op.drop_column("cpr_hmac")
