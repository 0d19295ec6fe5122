"""Attendance at a group session: held once for the group, recorded per woman. The
members are the participants the saved schedule placed in that session; each gets an
``attendance`` row (present, or absent with a reason) on her enrollment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlmodel import Session, col, select

from iba_workflow.errors import NotFound
from iba_workflow.store.records import audit, pk
from iba_workflow.store.tables import AttendanceRow, CitizenRow, EnrollmentRow

from .grid import TZ
from .model import ScheduleError
from .tables import PlacementRow


def record_session_attendance(
    session: Session,
    *,
    definition_id: str,
    day: dt.date,
    session_id: str,
    absent: Mapping[str, str] | None = None,
    at: dt.datetime,
    actor: str,
) -> list[AttendanceRow]:
    """Everyone placed in the group session ``session_id`` on ``day`` is present, except
    the refs in ``absent`` (ref → reason). Returns the rows written."""
    absent = dict(absent or {})
    rows = [
        r
        for r in session.exec(
            select(PlacementRow).where(
                PlacementRow.definition_id == definition_id,
                PlacementRow.kind == "session",
                col(PlacementRow.key).endswith(f"/{session_id}"),
            )
        )
        if r.start.astimezone(TZ).date() == day
    ]
    if not rows:
        raise NotFound(
            f"no saved group session {session_id!r} of {definition_id} on {day}",
            hint="save the week first: iba schedule week DEFINITION --week DATE --save",
        )
    members = sorted({r.person for r in rows if not r.person.startswith("staff:")})
    unknown = sorted(set(absent) - set(members))
    if unknown:
        raise ScheduleError(
            f"{unknown[0]} was not in the session", hint=f"members: {', '.join(members)}"
        )
    written = []
    for ref in members:
        enrollment = _enrollment(session, ref, definition_id)
        row = AttendanceRow(
            enrollment_id=pk(enrollment),
            step_instance_id=None,
            day=day,
            present=ref not in absent,
            reason=absent.get(ref),
            recorded_at=at,
        )
        session.add(row)
        written.append(row)
    session.flush()
    audit(
        session,
        at=at,
        actor=actor,
        action="group_attendance",
        entity="schedule_session",
        entity_id=f"{definition_id}/{session_id}/{day}",
        present=len(members) - len(absent),
        absent=len(absent),
    )
    return written


def _enrollment(session: Session, ref: str, definition_id: str) -> EnrollmentRow:
    citizen = session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).one()
    found = session.exec(
        select(EnrollmentRow)
        .where(EnrollmentRow.citizen_id == citizen.id, EnrollmentRow.definition_id == definition_id)
        .order_by(col(EnrollmentRow.id).desc())
    ).first()
    if found is None:
        raise NotFound(f"{ref} has no enrollment in {definition_id}")
    return found
