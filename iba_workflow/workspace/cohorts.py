"""Hold: per cohort its participants (with each one's progress), its waiting list in the
order places are given, its group lessons (held, planned, the next one) and where the
cohort stands (week n of N). Read for the cohorts of the interventions one coordinates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    AttendanceRow,
    CitizenRow,
    CohortRow,
    EnrollmentRow,
    StepInstanceRow,
)


@dataclass
class Member:
    id: int
    ref: str  # F-00012
    citizen_ref: str
    since: dt.date  # visitation day: the waiting list's order
    done: int = 0  # steps completed (not the lessons)
    steps: int = 0  # steps of the plan (not the lessons, not cancelled)
    overdue: int = 0
    present: int = 0  # days present, of the days registered (lessons, absence lists)
    registered: int = 0


@dataclass
class Lessons:
    name: str
    held: int = 0
    planned: int = 0
    next_day: dt.date | None = None
    next_time: dt.time | None = None


@dataclass
class CohortView:
    cohort: CohortRow
    name: str
    week: int
    weeks: int
    active: list[Member] = field(default_factory=list)
    waiting: list[Member] = field(default_factory=list)
    finished: int = 0
    lessons: list[Lessons] = field(default_factory=list)

    @property
    def done_share(self) -> int:
        """Percent of the participants' steps completed so far."""
        total = sum(m.steps for m in self.active)
        return round(100 * sum(m.done for m in self.active) / total) if total else 0


def cohort_view(
    session: Session, c: CohortRow, d: Definition | None, *, today: dt.date
) -> CohortView:
    weeks = d.duration.default if d else 0
    view = CohortView(
        c, d.name if d else c.definition_id, max(0, min(weeks, (today - c.start).days // 7 + 1)),
        weeks,
    )  # fmt: skip
    rows = session.exec(
        select(EnrollmentRow, CitizenRow.ref)
        .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
        .where(EnrollmentRow.cohort_id == c.id)
        .order_by(col(EnrollmentRow.visitation_on), col(EnrollmentRow.id))
    ).all()
    members: dict[int, Member] = {}
    for e, citizen_ref in rows:
        m = Member(e.id or 0, enrollment_ref(e.id or 0), citizen_ref, e.visitation_on)
        if e.status == "active":
            view.active.append(m)
            members[m.id] = m
        elif e.status == "waiting":
            view.waiting.append(m)
        else:
            view.finished += 1
    lessons: dict[str, Lessons] = {}
    days: dict[str, set[tuple[dt.date, dt.time | None]]] = defaultdict(set)
    names = {s.id: s.name for s in d.steps} if d else {}
    steps = session.exec(
        select(StepInstanceRow)
        .where(col(StepInstanceRow.enrollment_id).in_(list(members)))
        .where(StepInstanceRow.status != "cancelled")
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.due_time))
    ).all()
    for s in steps:
        m = members[s.enrollment_id]
        if s.kind == "session":
            x = lessons.setdefault(s.step_id, Lessons(names.get(s.step_id, s.name)))
            _lesson(s, x, days[s.step_id], today)
            continue
        m.steps += 1
        m.done += s.status == "completed"
        m.overdue += s.status in OPEN_STEP_STATUSES and s.due_date < today
    _attendance(session, members)
    view.lessons = sorted(lessons.values(), key=lambda x: x.name)
    return view


def _lesson(
    s: StepInstanceRow, x: Lessons, days: set[tuple[dt.date, dt.time | None]], today: dt.date
) -> None:
    """Count a lesson once per date and time, whoever of the participants it is for."""
    when = (s.due_date, s.due_time)
    if when in days:
        return
    days.add(when)
    if s.due_date < today:
        x.held += 1
    else:
        x.planned += 1
        if x.next_day is None:
            x.next_day, x.next_time = when


def _attendance(session: Session, members: dict[int, Member]) -> None:
    """Each participant's registered attendance: days present of the days registered."""
    for eid, present in session.exec(
        select(AttendanceRow.enrollment_id, AttendanceRow.present).where(
            col(AttendanceRow.enrollment_id).in_(list(members))
        )
    ).all():
        members[eid].registered += 1
        members[eid].present += bool(present)
