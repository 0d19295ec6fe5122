"""a partial index of the claimable outbox rows in id order: the claim reads them oldest
first without walking the sent history (on PostgreSQL the plan in id order filtered the
primary key over every row, and the rows' dead versions, once the outbox had churned)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

WHERE = sa.text("status IN ('pending', 'failed', 'sending')")  # tables.CLAIMABLE


def upgrade() -> None:
    op.create_index(
        "ix_outbox_claimable", "outbox", ["id"], sqlite_where=WHERE, postgresql_where=WHERE
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_claimable", table_name="outbox")
