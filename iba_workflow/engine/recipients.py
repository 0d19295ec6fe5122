"""Recipients for many enrollments at once: a tick, the morning digest and the router ask
who gets a step's mail for hundreds of enrollments. ``RecipientBook`` reads each kind of
row once (enrollments and their assignments in ``IN`` chunks, the active staff and who
covers whom once) instead of two or three queries per enrollment."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, col, select

from iba_workflow.store.queries import Addressees
from iba_workflow.store.tables import (
    EnrollmentRow,
    EnrollmentStaffRow,
    StaffCoverRow,
    StaffRow,
    StepInstanceRow,
)

from .apply import Recipients

CHUNK = 500  # ids per IN (...): well under every database's parameter limit


class RecipientBook:
    """``Recipients`` per enrollment id, with the same answers as
    ``Recipients(session, enrollment, on=on)``."""

    def __init__(self, session: Session, *, on: dt.date | None = None) -> None:
        self.session = session
        self.on = on
        self._enrollments: dict[int, EnrollmentRow] = {}
        self._assigned: dict[int, dict[str, int]] = {}
        self._made: dict[int, Recipients] = {}
        self._staff: dict[str, list[StaffRow]] | None = None
        self._cover: dict[int, int] | None = None

    def load(self, enrollment_ids: Iterable[int]) -> None:
        """Read the enrollments and their assignments not read yet (one query each per
        chunk of ids)."""
        missing = sorted({i for i in enrollment_ids if i not in self._assigned})
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            for e in self.session.exec(
                select(EnrollmentRow).where(col(EnrollmentRow.id).in_(chunk))
            ):
                self._enrollments[e.id or 0] = e
            for i in chunk:
                self._assigned[i] = {}
            for a in self.session.exec(
                select(EnrollmentStaffRow).where(col(EnrollmentStaffRow.enrollment_id).in_(chunk))
            ):
                self._assigned[a.enrollment_id][a.role] = a.staff_id

    def enrollment(self, enrollment_id: int) -> EnrollmentRow:
        self.load([enrollment_id])
        return self._enrollments[enrollment_id]

    def of(self, enrollment_id: int) -> Recipients:
        if enrollment_id not in self._made:
            enrollment = self.enrollment(enrollment_id)
            self._made[enrollment_id] = Recipients.from_loaded(
                self._assigned[enrollment_id],
                self._covers(),
                self._active_staff().get(enrollment.municipality, []),
            )
        return self._made[enrollment_id]

    def for_step_row(self, row: StepInstanceRow) -> Recipients:
        return self.of(row.enrollment_id)

    def addressees(self) -> Addressees:
        """What ``for_role`` answers for any enrollment, as the database can work it out
        (``store.queries.Addressees``): per municipality and role the first active holder,
        and who covers for whom on ``on``."""
        holders: dict[tuple[str, str], int] = {}
        for municipality, staff in self._active_staff().items():
            for person in staff:
                for role in person.roles:
                    holders.setdefault((municipality, role), person.id or 0)
        return Addressees(holders=holders, cover=dict(self._covers()))

    def _active_staff(self) -> dict[str, list[StaffRow]]:
        if self._staff is None:
            self._staff = defaultdict(list)
            for s in self.session.exec(
                select(StaffRow).where(StaffRow.active == True).order_by(col(StaffRow.id))  # noqa: E712
            ):
                self._staff[s.municipality].append(s)
        return self._staff

    def _covers(self) -> dict[int, int]:
        if self._cover is None:
            self._cover = {}
            if self.on is not None:
                for c in self.session.exec(
                    select(StaffCoverRow)
                    .where(
                        col(StaffCoverRow.first_day) <= self.on,
                        col(StaffCoverRow.last_day) >= self.on,
                    )
                    .order_by(col(StaffCoverRow.id))
                ):
                    self._cover[c.staff_id] = c.cover_staff_id
        return self._cover
