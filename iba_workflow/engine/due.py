"""Turning what is due into outbox rows: new tasks, reminders, escalations. Idempotent:
running it twice on the same day adds nothing (message ids are stable)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.store.queries import due_steps, escalations_due, reminders_due
from iba_workflow.store.records import audit
from iba_workflow.store.tables import OutboxRow, StepInstanceRow

from .apply import notify
from .context import EngineContext, transaction
from .recipients import RecipientBook


@dataclass
class DueReport:
    became_due: int = 0
    new_tasks: int = 0
    reminders: int = 0
    escalations: int = 0


def enqueue_due_notifications(
    session: Session, ctx: EngineContext, *, lead_days: int = 0
) -> DueReport:
    """One transaction: mark steps due and write the notifications for today. A task
    becomes actionable ``lead_days`` before its date, or the weekday before its first
    reminder if that is earlier: its new-task mail goes then, and stands in for any
    reminder dated that day or before (the first mail about a task is "ny opgave")."""
    today = ctx.today()
    told: set[int] = set()  # became due in this run: the new-task mail is today's word
    report = DueReport()
    book = RecipientBook(session, on=today)  # one query per kind of row, not per enrollment
    staff_for = book.for_step_row
    with transaction(session):
        became = due_steps(session, today, lead_days=lead_days)
        book.load(row.enrollment_id for row in became)
        for row in became:
            told.add(row.id or 0)
            row.status, row.updated_at = "due", ctx.now()
            session.add(row)
            report.became_due += 1
            if row.kind != "session":
                who = staff_for(row).covered(row.assigned_staff_id) or staff_for(row).for_role(
                    row.assignee_role
                )
                report.new_tasks += notify(
                    session, ctx, row, "new_task", [who] if who else [], tag="once"
                )
            audit(
                session,
                at=ctx.now(),
                actor=ctx.actor,
                action="step_due",
                entity="step_instance",
                entity_id=row.id,
                enrollment_id=row.enrollment_id,
                step_key=row.key,
            )
        reminders = reminders_due(session, today)
        book.load(reminder.step.enrollment_id for reminder in reminders)
        for reminder in reminders:
            row = reminder.step
            if row.id in told or _new_task_since(session, row, reminder.reminder_date):
                continue
            who = staff_for(row).covered(row.assigned_staff_id) or staff_for(row).for_role(
                row.assignee_role
            )
            report.reminders += notify(
                session,
                ctx,
                row,
                "reminder",
                [who] if who else [],
                tag=f"{reminder.reminder_date.isoformat()}",
            )
        escalations = escalations_due(session, today)
        book.load(row.enrollment_id for row in escalations)
        for row in escalations:
            who = staff_for(row).for_role(row.escalation_role)
            report.escalations += notify(
                session,
                ctx,
                row,
                "escalation",
                [who] if who else [],
                tag=f"r{row.revision}",
                escalated_to_role=row.escalation_role,
            )
    return report


FIRST_WORD_KINDS = ("new_task", "meeting_invitation")  # the first mail about a step


def _new_task_since(session: Session, row: StepInstanceRow, day: dt.date) -> bool:
    """Was the step's first mail (new task, or a meeting's invitation) written on ``day``
    or later, so it covers the reminder of ``day``? For a group's occurrence (issue 12)
    any member's step counts: the group's invitation goes out on one of them."""
    since = dt.datetime.combine(day, dt.time(0), COPENHAGEN)
    steps = (
        select(StepInstanceRow.id).where(StepInstanceRow.group_key == row.group_key)
        if row.group_key
        else select(StepInstanceRow.id).where(StepInstanceRow.id == row.id)
    )
    return (
        session.exec(
            select(OutboxRow.id).where(
                col(OutboxRow.step_instance_id).in_(steps),
                col(OutboxRow.kind).in_(FIRST_WORD_KINDS),
                col(OutboxRow.created_at) >= since,
            )
        ).first()
        is not None
    )
