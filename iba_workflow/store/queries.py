"""Read-only questions the dispatcher asks the record: what is due, what needs a
reminder, what is overdue and escalates. Dates are local (Europe/Copenhagen) days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from .tables import OPEN_STEP_STATUSES, EnrollmentRow, StepInstanceRow


@dataclass(frozen=True)
class ReminderDue:
    step: StepInstanceRow
    reminder_date: dt.date


def _open_steps(today: dt.date):  # type: ignore[no-untyped-def]
    return (
        select(StepInstanceRow)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .where(
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
        )
    )


def _in_order(rows: Iterable[StepInstanceRow]) -> list[StepInstanceRow]:
    """By date, then id. Sorted here, not in SQL: an ORDER BY due_date makes SQLite walk
    the due-date index over every step instead of the (status, date) index the question
    needs (bench/bench_scale.py --explain)."""
    return sorted(rows, key=lambda r: (r.due_date, r.id or 0))


def due_steps(session: Session, today: dt.date, *, lead_days: int = 0) -> list[StepInstanceRow]:
    """Planned steps that have become actionable: ``lead_days`` before their date, or on
    the weekday before their first reminder if that is earlier (they become ``due``;
    tasks get a new_task mail, so the first mail about a task is never a reminder)."""
    before_reminder = today + dt.timedelta(days=3 if today.weekday() == 4 else 1)
    planned = _open_steps(today).where(StepInstanceRow.status == "planned")
    # Two questions, each on its own index ((status, due_date), (status, remind_from)),
    # rather than one OR that PostgreSQL answers by reading every planned step.
    by_date = session.exec(
        planned.where(col(StepInstanceRow.due_date) <= today + dt.timedelta(days=lead_days))
    )
    by_reminder = session.exec(planned.where(col(StepInstanceRow.remind_from) <= before_reminder))
    found = {row.id: row for row in by_date}
    found.update((row.id, row) for row in by_reminder)
    return _in_order(found.values())


def reminders_due(session: Session, today: dt.date) -> list[ReminderDue]:
    """Open steps with a reminder date reached and the due date not yet passed; the
    latest such reminder date of each step (so a missed reminder is sent once)."""
    found: list[ReminderDue] = []
    rows = _in_order(
        session.exec(
            _open_steps(today).where(
                col(StepInstanceRow.remind_from) <= today, StepInstanceRow.due_date >= today
            )
        )
    )
    for row in rows:
        reached = [dt.date.fromisoformat(r) for r in row.reminders if r <= today.isoformat()]
        if reached and row.kind != "session":
            found.append(ReminderDue(row, max(reached)))
    return found


def escalations_due(session: Session, today: dt.date) -> list[StepInstanceRow]:
    """Open steps past their escalation date."""
    return _in_order(
        session.exec(
            _open_steps(today).where(
                col(StepInstanceRow.escalation_date) <= today,
                col(StepInstanceRow.escalation_role).is_not(None),
                StepInstanceRow.kind != "session",
            )
        )
    )
