"""Turning what is due into outbox rows: new tasks, reminders, escalations. Idempotent:
running it twice on the same day adds nothing (message ids are stable)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.store.queries import ReminderDue, due_steps, escalations_due, reminders_due
from iba_workflow.store.records import audit_values
from iba_workflow.store.rows import CHUNK, enqueue_many, insert_rows
from iba_workflow.store.tables import AuditRow, OutboxRow, StepInstanceRow

from .apply import notifications
from .context import EngineContext, transaction
from .recipients import RecipientBook


@dataclass
class DueReport:
    became_due: int = 0
    new_tasks: int = 0
    reminders: int = 0
    escalations: int = 0
    #: the enrollment of each step that became due (the dispatcher counts them per
    #: intervention without asking for the steps again)
    due_enrollments: list[int] = field(default_factory=list, compare=False, repr=False)


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
        first_words: list[dict[str, object]] = []
        lines: list[dict[str, object]] = []
        for row in became:
            told.add(row.id or 0)
            row.status, row.updated_at = "due", ctx.now()
            session.add(row)
            report.became_due += 1
            report.due_enrollments.append(row.enrollment_id)
            if row.kind != "session":
                who = staff_for(row).covered(row.assigned_staff_id) or staff_for(row).for_role(
                    row.assignee_role
                )
                first_words += notifications(ctx, row, "new_task", [who] if who else [], tag="once")
            lines.append(
                audit_values(
                    at=ctx.now(),
                    actor=ctx.actor,
                    action="step_due",
                    entity="step_instance",
                    entity_id=row.id,
                    enrollment_id=row.enrollment_id,
                    step_key=row.key,
                )
            )
        insert_rows(session, AuditRow, lines)  # one executemany, not an INSERT per step
        report.new_tasks += enqueue_many(session, first_words)
        # the steps whose next reminder has come (not every step inside its reminder
        # window again): each is sent, or covered, and moved on to its next reminder
        reminders = reminders_due(session, today)
        to_send = [r for r in reminders if r.reminder_date is not None]
        book.load(reminder.step.enrollment_id for reminder in to_send)
        covered = _first_word_since(session, [r for r in to_send if r.step.id not in told])
        batch: list[dict[str, object]] = []
        for reminder in reminders:
            row, day = reminder.step, reminder.reminder_date
            # the new-task mail of this run, or a first mail written since, stands in
            if (
                day is not None
                and row.id not in told
                and (row.group_key or row.id) not in covered.get(day, ())
            ):
                staff = staff_for(row)
                who = staff.covered(row.assigned_staff_id) or staff.for_role(row.assignee_role)
                if who is None:
                    continue  # nobody to remind yet: asked again on the next tick
                batch += notifications(ctx, row, "reminder", [who], tag=day.isoformat())
            row.next_reminder = reminder.next_reminder  # handled: not read again until then
            session.add(row)
        report.reminders += enqueue_many(session, batch)  # one look-up per chunk, not per step
        # not the steps whose escalation to today's addressee is written: a later tick
        # reads only what is new, not every overdue step again
        escalations = escalations_due(session, today, unless_sent=book.addressees())
        book.load(row.enrollment_id for row in escalations)
        batch = []
        for row in escalations:
            who = staff_for(row).for_role(row.escalation_role)
            batch += notifications(
                ctx,
                row,
                "escalation",
                [who] if who else [],
                tag=f"r{row.revision}",
                escalated_to_role=row.escalation_role,
            )
        report.escalations += enqueue_many(session, batch)
    return report


FIRST_WORD_KINDS = ("new_task", "meeting_invitation")  # the first mail about a step


def _first_word_since(
    session: Session, reminders: list[ReminderDue]
) -> dict[dt.date, set[int | str]]:
    """Per reminder date, the steps (by id, a group's occurrence by its ``group_key``)
    whose first mail (new task, or a meeting's invitation) was written on that day or
    later, so it covers that day's reminder. For a group (issue 12) any member's mail
    counts: the group's invitation goes out on one of them. One query per chunk of steps,
    not one per reminder."""
    days = {r.reminder_date for r in reminders if r.reminder_date is not None}
    if not days:
        return {}
    earliest = dt.datetime.combine(min(days), dt.time(0), COPENHAGEN)
    groups = sorted({r.step.group_key for r in reminders if r.step.group_key})
    singles = sorted({r.step.id or 0 for r in reminders if not r.step.group_key})
    written: list[tuple[int | str, dt.datetime]] = []
    first_words = select(OutboxRow.step_instance_id, OutboxRow.created_at).where(
        col(OutboxRow.kind).in_(FIRST_WORD_KINDS), col(OutboxRow.created_at) >= earliest
    )
    for start in range(0, len(singles), CHUNK):
        chunk = singles[start : start + CHUNK]
        found = session.exec(first_words.where(col(OutboxRow.step_instance_id).in_(chunk)))
        written += [(step_id or 0, at) for step_id, at in found]
    for start in range(0, len(groups), CHUNK):
        keys = groups[start : start + CHUNK]
        in_group = session.exec(
            select(StepInstanceRow.group_key, OutboxRow.created_at)
            .join(OutboxRow, col(OutboxRow.step_instance_id) == StepInstanceRow.id)
            .where(
                col(StepInstanceRow.group_key).in_(keys),
                col(OutboxRow.kind).in_(FIRST_WORD_KINDS),
                col(OutboxRow.created_at) >= earliest,
            )
        )
        written += [(key or "", at) for key, at in in_group]
    covered: dict[dt.date, set[int | str]] = {}
    for day in days:
        since = dt.datetime.combine(day, dt.time(0), COPENHAGEN)
        covered[day] = {who for who, at in written if _aware(at) >= since}
    return covered


def _aware(at: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
