"""Alembic environment: run with a connection handed over by ``store.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from iba_workflow.store import tables  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through iba_workflow.store.db.upgrade")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
