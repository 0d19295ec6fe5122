"""Giving one step to another staff member (the mentor changes), and a colleague who
covers all of a person's tasks for a period (``staff_cover``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from iba_workflow.errors import InvalidInput, InvalidTransition, NotFound
from iba_workflow.store.records import audit
from iba_workflow.store.tables import OPEN_STEP_STATUSES, StaffCoverRow, StaffRow, StepInstanceRow

from .context import EngineContext, transaction
from .lifecycle import get_enrollment


@dataclass(frozen=True)
class Reassignment:
    step_instance_id: int
    old_staff_id: int | None
    new_staff_id: int


def reassign_step(
    session: Session,
    ctx: EngineContext,
    *,
    step_instance_id: int,
    staff_id: int,
    dry_run: bool = False,
) -> Reassignment:
    """Assign an open step to ``staff_id`` (an active staff member of the enrollment's
    municipality); with ``dry_run`` only check and say what would change."""
    with transaction(session):
        row = session.get(StepInstanceRow, step_instance_id)
        if row is None:
            raise NotFound(f"no step {step_instance_id}")
        enrollment = get_enrollment(session, row.enrollment_id)
        if row.status not in OPEN_STEP_STATUSES:
            raise InvalidTransition(f"step '{row.key}' is {row.status}; only open steps move")
        staff = session.get(StaffRow, staff_id)
        if staff is None or not staff.active or staff.municipality != enrollment.municipality:
            raise InvalidInput(
                "the staff member is unknown, inactive or of another municipality",
                hint="choose an active colleague of the same municipality",
            )
        result = Reassignment(row.id or 0, row.assigned_staff_id, staff_id)
        if dry_run:
            return result
        row.assigned_staff_id = staff_id
        row.updated_at = ctx.now()
        session.add(row)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="step_reassigned",
            entity="step_instance",
            entity_id=row.id,
            enrollment_id=enrollment.id,
            citizen_id=enrollment.citizen_id,
            step_key=row.key,
            old_staff_id=result.old_staff_id,
            staff_id=staff_id,
        )
    return result


def add_cover(
    session: Session,
    ctx: EngineContext,
    *,
    staff_id: int,
    cover_staff_id: int,
    first_day: dt.date,
    last_day: dt.date,
) -> StaffCoverRow:
    """From ``first_day`` to ``last_day``, what would go to ``staff_id`` goes to
    ``cover_staff_id`` (an active colleague of the same municipality)."""
    if last_day < first_day:
        raise InvalidInput(
            "the cover ends before it starts / afløsningen slutter før den begynder",
            hint="give the first day first / angiv første dag før sidste dag",
        )
    ctx.check_date(first_day, field="first_day")
    ctx.check_date(last_day, field="last_day")
    with transaction(session):
        person, cover = session.get(StaffRow, staff_id), session.get(StaffRow, cover_staff_id)
        if person is None or cover is None or staff_id == cover_staff_id:
            raise InvalidInput(
                "choose two different staff members / vælg to forskellige medarbejdere"
            )
        if not cover.active or cover.municipality != person.municipality:
            raise InvalidInput(
                "the colleague is inactive or of another municipality / kollegaen er ikke "
                "aktiv eller hører til en anden kommune"
            )
        row = StaffCoverRow(
            staff_id=staff_id,
            cover_staff_id=cover_staff_id,
            first_day=first_day,
            last_day=last_day,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="cover_added",
            entity="staff",
            entity_id=staff_id,
            cover_staff_id=cover_staff_id,
            first_day=first_day,
            last_day=last_day,
        )
    return row
