"""Min uge: one's own tasks and meetings this week and next, overdue first, grouped by
intervention, each with its form; for a coordinator, what is overdue in the
interventions she coordinates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_
from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.identity.policy import Action, Actor, Kind, Resource, decide
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CitizenRow,
    EnrollmentRow,
    EnrollmentStaffRow,
    StaffRow,
    StepInstanceRow,
    not_a_lesson,
)
from iba_workflow.web.forms import TaskForm, build_form

from .people import StepPeople, covers_on

MAX_TASKS = 60
LATER = 5  # the nearest of one's tasks after next week
LATER_DAYS = 42  # … within six weeks


@dataclass
class WeekTask:
    step: StepInstanceRow
    ref: str
    citizen_ref: str
    intervention: str
    overdue: bool
    early: bool
    form: TaskForm


@dataclass
class Section:
    title: str
    groups: dict[str, list[WeekTask]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(g) for g in self.groups.values())


@dataclass
class Week:
    sections: list[Section]
    overdue_mine: int
    overdue_coordinated: dict[str, int]
    more: bool
    monday: dt.date

    @property
    def week_numbers(self) -> tuple[int, int]:
        following = self.monday + dt.timedelta(days=7)
        return self.monday.isocalendar()[1], following.isocalendar()[1]


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def mine_clause(session: Session, actor: Actor, *, on: dt.date) -> Any:
    """The open steps that are the actor's, in SQL (the rule of ``StepPeople``): assigned
    to her; or of a role she holds for the enrollment (``enrollment_staff``); or of a role
    she is the municipality's first active holder of, with nobody named for it; or a
    meeting she attends in such a role; and the same for each colleague she covers for
    on ``on``. Rows are checked again with ``StepPeople``."""
    first: dict[str, int] = {}
    for s in session.exec(
        select(StaffRow)
        .where(StaffRow.municipality == actor.municipality, StaffRow.active == True)  # noqa: E712
        .order_by(col(StaffRow.id))
    ):
        for role in s.roles:
            first.setdefault(role, s.id or 0)
    covered = [sid for sid, cover in covers_on(session, on).items() if cover == actor.staff_id]
    step = StepInstanceRow
    named = exists().where(
        col(EnrollmentStaffRow.enrollment_id) == step.enrollment_id,
        col(EnrollmentStaffRow.role) == step.assignee_role,
    )
    unassigned = col(step.assigned_staff_id).is_(None)
    clauses: list[Any] = []
    for person in [actor.staff_id, *covered]:
        default_roles = sorted(r for r, sid in first.items() if sid == person)
        named_them = named.where(col(EnrollmentStaffRow.staff_id) == person)
        by_default = and_(col(step.assignee_role).in_(default_roles), ~named)
        clauses += [
            col(step.assigned_staff_id) == person,
            and_(unassigned, or_(named_them, by_default)),
            *[cast(step.attendee_roles, String).like(f'%"{r}"%') for r in default_roles],
        ]
    return or_(*clauses)


def _open_steps(actor: Actor, mine: Any) -> Any:
    """The ids of one's open steps (narrow: the index answers most of it)."""
    return (
        select(col(StepInstanceRow.id))
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .where(
            EnrollmentRow.municipality == actor.municipality,
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            not_a_lesson(),  # the weekly lessons are in the schedule
            mine,
        )
    )


def _first_rows(
    session: Session, query: Any, n: int, ranges: list[tuple[dt.date | None, dt.date]]
) -> list[Any]:
    """The first ``n`` rows of ``query`` by date. The database sorts narrow rows (ids, not
    whole rows with their JSON), one date range at a time (the index on status and date
    keeps each small), until ``n`` are found; then only those rows are loaded."""
    wanted: list[int] = []
    due = col(StepInstanceRow.due_date)
    for first, last in ranges:
        bounded = (
            query.where(due <= last) if first is None else query.where(due >= first, due <= last)
        )
        narrow = bounded.order_by(due, col(StepInstanceRow.id)).limit(n - len(wanted))
        wanted += [sid for (sid,) in session.execute(narrow).all()]
        if len(wanted) >= n:
            break
    if not wanted:
        return []
    full = {
        step.id: (step, e, ref)
        for step, e, ref in session.exec(
            select(StepInstanceRow, EnrollmentRow, CitizenRow.ref)
            .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
            .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
            .where(col(StepInstanceRow.id).in_(wanted))
        ).all()
    }
    return [full[sid] for sid in wanted if sid in full]


def _ranges(first: dt.date, last: dt.date) -> list[tuple[dt.date | None, dt.date]]:
    """``..first-1``, then growing ranges from ``first`` to ``last``."""
    out: list[tuple[dt.date | None, dt.date]] = [(None, first - dt.timedelta(days=1))]
    start, width = first, 1
    while start <= last:
        end = min(last, start + dt.timedelta(days=width - 1))
        out.append((start, end))
        start, width = end + dt.timedelta(days=1), width * 2
    return out


def my_week(session: Session, actor: Actor, *, today: dt.date) -> Week:
    monday = monday_of(today)
    horizon = monday + dt.timedelta(days=13)
    mine = mine_clause(session, actor, on=today)
    window = _open_steps(actor, mine).where(col(StepInstanceRow.due_date) <= horizon)
    late_q = _open_steps(actor, mine).where(col(StepInstanceRow.due_date) < today)
    overdue_mine = int(session.exec(select(func.count()).select_from(late_q.subquery())).one())
    rows = _first_rows(session, window, MAX_TASKS + 1, _ranges(today, horizon))
    more = len(rows) > MAX_TASKS  # more than are shown: not counted (that is the slow part)
    rows = rows[:MAX_TASKS]
    after = horizon + dt.timedelta(days=1)
    later_rows = _first_rows(
        session,
        _open_steps(actor, mine),
        LATER,
        _ranges(after, horizon + dt.timedelta(days=LATER_DAYS))[1:],
    )
    people = StepPeople(
        session,
        actor.municipality or "",
        (e.id or 0 for _, e, _ in [*rows, *later_rows]),
        on=today,
    )
    definitions: dict[tuple[str, int], Definition] = {}
    sections = [Section("Overskredet"), Section("Denne uge"), Section("Næste uge")]
    later = Section("Senere")
    for n, (step, e, citizen_ref) in enumerate([*rows, *later_rows]):
        staff_ids = frozenset(people.for_step(step))
        resource = Resource(
            kind=Kind.TASK, municipality=e.municipality, definition_id=e.definition_id,
            staff_ids=staff_ids,
        )  # fmt: skip
        if actor.staff_id not in staff_ids or not decide(actor, Action.VIEW, resource):
            continue
        key = (e.definition_id, e.definition_version)
        if key not in definitions:
            definitions[key] = stored_definition(session, *key)
        d = definitions[key]
        form = build_form(session, d, step, e, today=today, ref_of=enrollment_ref)
        late = step.due_date < today
        task = WeekTask(
            step, enrollment_ref(e.id or 0), citizen_ref, d.name, late, step.due_date > today, form
        )
        if n >= len(rows):
            section = later
        elif late:
            section = sections[0]
        else:
            section = sections[1] if step.due_date < monday + dt.timedelta(7) else sections[2]
        section.groups.setdefault(d.name, []).append(task)
    return Week(
        [*sections, later],
        overdue_mine,
        overdue_in_coordinated(session, actor, today=today),
        more,
        monday,
    )


def overdue_in_coordinated(session: Session, actor: Actor, *, today: dt.date) -> dict[str, int]:
    """Open steps past their date, per intervention the actor coordinates."""
    if not actor.coordinates:
        return {}
    found = session.exec(
        select(EnrollmentRow.definition_id, func.count())
        .join(StepInstanceRow, col(StepInstanceRow.enrollment_id) == EnrollmentRow.id)
        .where(
            EnrollmentRow.municipality == actor.municipality,
            col(EnrollmentRow.definition_id).in_(sorted(actor.coordinates)),
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            not_a_lesson(),
            col(StepInstanceRow.due_date) < today,
        )
        .group_by(EnrollmentRow.definition_id)
    ).all()
    return {definition_id: int(n) for definition_id, n in found}
