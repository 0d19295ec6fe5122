"""Reading the record for people: enrollments and their steps (no personal data)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from iba_workflow.store.tables import CompletionRow, EnrollmentRow, StepInstanceRow

from .lifecycle import get_enrollment, instances_of


def list_enrollments(session: Session, *, include_closed: bool = True) -> list[EnrollmentRow]:
    query = select(EnrollmentRow).order_by(col(EnrollmentRow.id))
    if not include_closed:
        query = query.where(col(EnrollmentRow.status).in_(("active", "waiting")))
    return list(session.exec(query))


def enrollment_steps(
    session: Session, enrollment_id: int
) -> tuple[EnrollmentRow, list[tuple[StepInstanceRow, CompletionRow | None]]]:
    enrollment = get_enrollment(session, enrollment_id)
    rows = instances_of(session, enrollment_id)
    done = {
        c.step_instance_id: c
        for c in session.exec(
            select(CompletionRow).where(
                col(CompletionRow.step_instance_id).in_([r.id for r in rows])
            )
        )
    }
    return enrollment, [(r, done.get(r.id or 0)) for r in rows]
