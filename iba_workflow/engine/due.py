"""Turning what is due into outbox rows: new tasks, reminders, escalations. Idempotent:
running it twice on the same day adds nothing (message ids are stable)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from iba_workflow.store.queries import due_steps, escalations_due, reminders_due
from iba_workflow.store.records import audit

from .apply import notify
from .context import EngineContext, transaction
from .recipients import RecipientBook


@dataclass
class DueReport:
    became_due: int = 0
    new_tasks: int = 0
    reminders: int = 0
    escalations: int = 0


def enqueue_due_notifications(session: Session, ctx: EngineContext) -> DueReport:
    """One transaction: mark steps due and write the notifications for today."""
    today = ctx.today()
    report = DueReport()
    book = RecipientBook(session, on=today)  # one query per kind of row, not per enrollment
    staff_for = book.for_step_row
    with transaction(session):
        became = due_steps(session, today)
        book.load(row.enrollment_id for row in became)
        for row in became:
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
