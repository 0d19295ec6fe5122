"""From the record to the solver and back: the week problem of one intervention (who is
enrolled each week, their fixed commitments, the staff with their hours and calendars),
the saved schedule, and what moved since it was saved. Flushes, never commits."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlmodel import Session, col, delete, select

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.engine.apply import Recipients
from iba_workflow.store.records import pk
from iba_workflow.store.tables import CitizenRow, EnrollmentRow

from .clashes import Booking, Clash, bookings_from_placements, find_clashes
from .diff import ScheduleChange, schedule_diff
from .grid import TZ
from .model import (
    Busy,
    GroupSession,
    Participant,
    Person,
    Placement,
    ScheduleError,
    ScheduleProblem,
    Solution,
    Talk,
)
from .records import BusyReader, citizen_person, staff_person
from .shapes import WeekShape
from .tables import MeetingRow, PlacementRow


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _end(e: EnrollmentRow) -> dt.date | None:
    if e.ended_on is not None:
        return e.ended_on
    if e.duration_weeks:
        return e.start + dt.timedelta(weeks=e.duration_weeks, days=-1)
    return None


def group_of(e: EnrollmentRow) -> str:
    """A cohort is its own group; a rolling intake is one group per intervention and
    municipality: whoever is enrolled that week."""
    if e.cohort_id is not None:
        return f"hold-{e.cohort_id}"
    return f"{e.definition_id}-{e.municipality}"


def problem_from_store(
    session: Session,
    shape: WeekShape,
    *,
    first_monday: dt.date,
    weeks: int = 1,
    busy_reader: BusyReader | None = None,
) -> ScheduleProblem:
    last = first_monday + dt.timedelta(weeks=weeks, days=-1)
    rows = list(
        session.exec(
            select(EnrollmentRow)
            .where(
                EnrollmentRow.definition_id == shape.definition,
                col(EnrollmentRow.status).in_(("active", "completed", "ended")),
                col(EnrollmentRow.start) <= last,
            )
            .order_by(col(EnrollmentRow.id))
        )
    )
    rows = [e for e in rows if (_end(e) or last) >= first_monday]
    if not rows:
        raise ScheduleError(
            f"nobody is enrolled in {shape.definition} in those weeks",
            hint="check the week (--week is the Monday) and the intervention",
        )
    participants: list[Participant] = []
    staff_ids: set[int] = set()
    # the plan's group occurrences are placed by the solver here, not taken as busy
    planned = planned_busy(session, first_monday, last, with_groups=False)
    session_staff: dict[str, dict[str, int]] = {}
    talks: list[Talk] = []
    activities = tuple(a.to_activity() for a in shape.activities)
    for e in rows:
        citizen = session.get(CitizenRow, e.citizen_id)
        assert citizen is not None
        base = citizen_person(session, pk(citizen), citizen.ref)
        group = group_of(e)
        who = Recipients(session, e)
        person = Person(
            base.ref, base.commitments, busy=tuple(planned[base.ref]), enrolled=(e.start, _end(e))
        )
        participants.append(Participant(person, shape.target_minutes, activities, (group,)))
        holders = session_staff.setdefault(group, {})
        for s in shape.sessions:
            for role in s.staff_roles:
                sid = who.for_role(role)
                if sid is not None:
                    holders.setdefault(role, sid)
        for t in shape.talks:
            sid = who.for_role(t.staff_role)
            if sid is None:
                raise ScheduleError(
                    f"no staff member holds the role {t.staff_role!r} for enrollment {e.id}",
                    hint=f"add one: iba staff add ... --role {t.staff_role}",
                )
            staff_ids.add(sid)
            talks.append(Talk(t.id, t.name, citizen.ref, f"staff:{sid}", t.minutes, t.per_week))
    sessions = []
    for group, holders in session_staff.items():
        for s in shape.sessions:
            ids = [holders[r] for r in s.staff_roles if r in holders]
            staff_ids.update(ids)
            staff_refs = tuple(f"staff:{i}" for i in ids)
            sessions.append(
                GroupSession(s.id, s.name, group, s.minutes, staff_refs, s.per_week, s.every_weeks)
            )
    staff = tuple(
        staff_person(
            session,
            sid,
            first=first_monday,
            last=last,
            busy_reader=busy_reader,
            extra_busy=[*_meeting_busy(session, sid), *planned[f"staff:{sid}"]],
        )
        for sid in sorted(staff_ids)
    )
    return ScheduleProblem(
        first_monday=first_monday,
        weeks=weeks,
        opening=shape.opening_hours,
        participants=tuple(participants),
        staff=staff,
        sessions=tuple(sessions),
        talks=tuple(talks),
        slot_minutes=shape.slot_minutes,
    )


def _meeting_busy(session: Session, staff_id: int) -> list[Busy]:
    out = []
    for m in session.exec(select(MeetingRow).where(MeetingRow.status == "booked")):
        if m.start and m.end and staff_id in m.staff_ids:
            out.append(Busy(m.start, m.end, m.title))
    return out


def saved_solution(session: Session, definition_id: str, first: dt.date, weeks: int) -> Solution:
    last = first + dt.timedelta(weeks=weeks, days=-1)
    rows = session.exec(
        select(PlacementRow).where(
            PlacementRow.definition_id == definition_id,
            col(PlacementRow.week) >= first,
            col(PlacementRow.week) <= last,
        )
    )
    grouped: dict[tuple[str, dt.datetime], list[PlacementRow]] = defaultdict(list)
    for r in rows:
        grouped[(r.key, r.start)].append(r)
    placements = [
        Placement(
            key=k,
            item=rs[0].key,
            name=rs[0].name,
            people=tuple(sorted(r.person for r in rs)),
            start=s.astimezone(TZ),
            end=rs[0].end.astimezone(TZ),
            kind=rs[0].kind,
            week=rs[0].week,
        )
        for (k, s), rs in grouped.items()
    ]
    return Solution(placements=sorted(placements, key=lambda p: (p.start, p.key)))


def save_solution(
    session: Session, definition_id: str, solution: Solution, first: dt.date, weeks: int
) -> list[ScheduleChange]:
    """Replace the saved schedule of those weeks; returns what moved against the old one."""
    before = saved_solution(session, definition_id, first, weeks)
    last = first + dt.timedelta(weeks=weeks, days=-1)
    session.execute(
        delete(PlacementRow).where(
            col(PlacementRow.definition_id) == definition_id,
            col(PlacementRow.week) >= first,
            col(PlacementRow.week) <= last,
        )
    )
    for p in solution.placements:
        for person in p.people:
            session.add(
                PlacementRow(
                    definition_id=definition_id,
                    week=p.week,
                    person=person,
                    key=p.key,
                    name=p.name,
                    kind=p.kind,
                    start=p.start,
                    end=p.end,
                )
            )
    session.flush()
    return schedule_diff(before, solution) if before.placements else []


def week_clashes(
    session: Session,
    problem: ScheduleProblem,
    solution: Solution,
    calendar: WorkingCalendar,
) -> list[Clash]:
    """Anyone booked twice in the week: the schedule, fixed commitments, staff calendars
    and booked meetings together."""
    bookings: list[Booking] = bookings_from_placements(solution.placements)
    first = problem.first_monday
    last = first + dt.timedelta(weeks=problem.weeks)
    for s in problem.staff:
        for b in s.busy:
            if first <= b.start.astimezone(TZ).date() < last:
                bookings.append(Booking(s.ref, b.label, b.start, b.end, "kalender", fixed=True))
    return find_clashes(bookings, calendar=calendar, opening=problem.opening)


TIMED_KINDS = ("meeting", "evaluation", "measurement", "test")
PLANNED_MINUTES = 60  # a step instance stores no duration; a planned meeting takes an hour


def planned_busy(
    session: Session, first: dt.date, last: dt.date, *, with_groups: bool = True
) -> dict[str, list[Busy]]:
    """The engine's open timed steps (meetings, evaluations, measurements, tests) from
    ``first`` to ``last`` as busy times of the participant (her ref) and of the staff
    holding the step's roles (``staff:<id>``), so the schedule and meetings go around them."""
    from iba_workflow.store.tables import StepInstanceRow

    out: dict[str, list[Busy]] = defaultdict(list)
    rows = session.exec(
        select(StepInstanceRow).where(
            col(StepInstanceRow.due_date) >= first,
            col(StepInstanceRow.due_date) <= last,
            col(StepInstanceRow.due_time).is_not(None),
            col(StepInstanceRow.status).in_(("planned", "due", "notified")),
            col(StepInstanceRow.kind).in_(TIMED_KINDS),
        )
    )
    holders: dict[int, tuple[EnrollmentRow, Recipients]] = {}
    groups: set[tuple[int, str]] = set()
    for step in rows:
        assert step.due_time is not None
        if step.group_key and not with_groups:
            continue
        if step.enrollment_id not in holders:
            e = session.get(EnrollmentRow, step.enrollment_id)
            assert e is not None
            holders[step.enrollment_id] = (e, Recipients(session, e))
        enrollment, who = holders[step.enrollment_id]
        start = dt.datetime.combine(step.due_date, step.due_time, tzinfo=TZ)
        busy = Busy(start, start + dt.timedelta(minutes=PLANNED_MINUTES), step.name)
        citizen = session.get(CitizenRow, enrollment.citizen_id)
        if citizen is not None:
            out[citizen.ref].append(busy)
        staff = {step.assigned_staff_id or who.for_role(step.assignee_role)}
        staff |= {who.for_role(r) for r in step.attendee_roles}
        for sid in sorted(s for s in staff if s is not None):
            if step.group_key and (sid, step.group_key) in groups:
                continue  # a group occurrence is one busy time, however many members
            groups.add((sid, step.group_key or ""))
            out[f"staff:{sid}"].append(busy)
    return out
