"""Who a step is for, for many enrollments at once (the rule of
``engine.apply.Recipients``): an explicit assignment, else the first active staff member
of the municipality who holds the role; for a meeting, every attendee who is staff; and
on a day, a colleague covering for one of them (``staff_cover``) instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlmodel import Session, col, select

from iba_workflow.engine.apply import is_meeting
from iba_workflow.store.tables import (
    EnrollmentStaffRow,
    StaffCoverRow,
    StaffRow,
    StepInstanceRow,
)


class StepPeople:
    def __init__(
        self,
        session: Session,
        municipality: str,
        enrollment_ids: Iterable[int],
        *,
        on: dt.date | None = None,
    ) -> None:
        ids = list(set(enrollment_ids))
        self._assigned: dict[tuple[int, str], int] = {}
        for start in range(0, len(ids), 500):
            for a in session.exec(
                select(EnrollmentStaffRow).where(
                    col(EnrollmentStaffRow.enrollment_id).in_(ids[start : start + 500])
                )
            ):
                self._assigned[(a.enrollment_id, a.role)] = a.staff_id
        self._cover = covers_on(session, on) if on is not None else {}
        self._first: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for s in session.exec(
            select(StaffRow)
            .where(StaffRow.municipality == municipality, StaffRow.active == True)  # noqa: E712
            .order_by(col(StaffRow.id))
        ):
            self.names[s.id or 0] = s.name
            for role in s.roles:
                self._first.setdefault(role, s.id or 0)

    def for_role(self, enrollment_id: int, role: str | None) -> int | None:
        if role is None:
            return None
        found = self._assigned.get((enrollment_id, role), self._first.get(role))
        return self.covered(found)

    def covered(self, staff_id: int | None) -> int | None:
        """``staff_id``, or the colleague covering for them (``staff_cover``)."""
        return None if staff_id is None else self._cover.get(staff_id, staff_id)

    def for_step(self, row: StepInstanceRow) -> list[int]:
        found: list[int] = []
        first = self.covered(row.assigned_staff_id) or self.for_role(
            row.enrollment_id, row.assignee_role
        )
        roles = [row.assignee_role, *row.attendee_roles] if is_meeting(row) else []
        for staff_id in [first, *(self.for_role(row.enrollment_id, r) for r in roles)]:
            if staff_id is not None and staff_id not in found:
                found.append(staff_id)
        return found


def covers_on(session: Session, day: dt.date) -> dict[int, int]:
    """Who covers whom on ``day``: absent staff id → colleague."""
    return {
        c.staff_id: c.cover_staff_id
        for c in session.exec(
            select(StaffCoverRow)
            .where(col(StaffCoverRow.first_day) <= day, col(StaffCoverRow.last_day) >= day)
            .order_by(col(StaffCoverRow.id))
        )
    }
