"""The lifecycle engine: transitions over the record, time from a Clock. Used by every
entry point (CLI, web, flows, the simulator). Every function takes a session, flushes and
never commits: the caller owns the transaction (``store.work.unit_of_work``)."""

from __future__ import annotations

from .completion import CompletionResult, complete_step
from .context import EngineContext, calendars_from, transaction
from .definitions import register_definition, stored_definition
from .due import DueReport, enqueue_due_notifications
from .intake import (
    VisitationResult,
    add_staff,
    assign_staff,
    record_consent,
    record_visitation,
    register_citizen,
)
from .migrate import MigrationPreview, migrate_enrollments
from .replan import ReplanResult, replan
from .status import enrollment_steps, list_enrollments
from .target import ImpactLine

__all__ = [
    "CompletionResult",
    "DueReport",
    "EngineContext",
    "ImpactLine",
    "MigrationPreview",
    "ReplanResult",
    "VisitationResult",
    "add_staff",
    "assign_staff",
    "calendars_from",
    "complete_step",
    "enqueue_due_notifications",
    "enrollment_steps",
    "list_enrollments",
    "migrate_enrollments",
    "record_consent",
    "record_visitation",
    "register_citizen",
    "register_definition",
    "replan",
    "stored_definition",
    "transaction",
]
