"""The record: SQLModel tables, sessions, migrations and the outbox.

For the dispatcher: ``engine.enqueue_due_notifications`` turns what is due today into
outbox rows (new_task, reminder, escalation; idempotent); the read-only questions behind
it are in ``store.queries`` (``due_steps``, ``reminders_due``, ``escalations_due``);
sending is ``store.outbox.claim_outbox_batch`` → ``mark_sent`` / ``mark_failed``
(``permanent=True`` for a 5xx). Engine changes write meeting_invitation, change and
cancellation rows in the caller's transaction (``store.work.unit_of_work``).
"""

from __future__ import annotations

from .db import (
    SessionFactory,
    engine_from_settings,
    make_engine,
    session_factory,
    upgrade,
)

__all__ = [
    "SessionFactory",
    "engine_from_settings",
    "make_engine",
    "session_factory",
    "upgrade",
]
