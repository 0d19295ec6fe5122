"""Min uge: one's own tasks and meetings this week and next, overdue first, grouped by
intervention, each with its form; for a coordinator, what is overdue in the
interventions she coordinates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.identity.policy import Action, Actor, Kind, Resource, decide
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CitizenRow,
    EnrollmentRow,
    StepInstanceRow,
)
from iba_workflow.web.forms import TaskForm, build_form

from .people import StepPeople

MAX_TASKS = 60


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
    more: int
    monday: dt.date

    @property
    def week_numbers(self) -> tuple[int, int]:
        following = self.monday + dt.timedelta(days=7)
        return self.monday.isocalendar()[1], following.isocalendar()[1]


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def my_week(session: Session, actor: Actor, *, today: dt.date) -> Week:
    monday = monday_of(today)
    horizon = monday + dt.timedelta(days=13)
    rows = session.exec(
        select(StepInstanceRow, EnrollmentRow, CitizenRow.ref)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
        .where(
            EnrollmentRow.municipality == actor.municipality,
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            StepInstanceRow.kind != "session",  # the weekly lessons are in the schedule
            col(StepInstanceRow.due_date) <= horizon,
        )
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
    ).all()
    people = StepPeople(session, actor.municipality or "", (e.id or 0 for _, e, _ in rows))
    overdue = Section("Overskredet")
    this_week = Section("Denne uge")
    next_week = Section("Næste uge")
    shown = 0
    more = 0
    overdue_mine = 0
    for step, e, citizen_ref in rows:
        mine = frozenset(people.for_step(step))
        if actor.staff_id not in mine:
            continue
        resource = Resource(
            kind=Kind.TASK, municipality=e.municipality, definition_id=e.definition_id,
            staff_ids=mine,
        )  # fmt: skip
        if not decide(actor, Action.VIEW, resource):
            continue
        late = step.due_date < today
        overdue_mine += late
        if shown >= MAX_TASKS:
            more += 1
            continue
        shown += 1
        d = stored_definition(session, e.definition_id, e.definition_version)
        form = build_form(session, d, step, e, today=today, ref_of=enrollment_ref)
        task = WeekTask(
            step, enrollment_ref(e.id or 0), citizen_ref, d.name, late, step.due_date > today, form
        )
        section = (
            overdue
            if late
            else this_week
            if step.due_date < monday + dt.timedelta(7)
            else next_week
        )
        section.groups.setdefault(d.name, []).append(task)
    later = Section("Senere")
    for step, e, citizen_ref, late_form in _later(session, actor, horizon, today):
        d = stored_definition(session, e.definition_id, e.definition_version)
        task = WeekTask(
            step, enrollment_ref(e.id or 0), citizen_ref, d.name, False, True, late_form
        )
        later.groups.setdefault(d.name, []).append(task)
    return Week(
        [overdue, this_week, next_week, later],
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
            StepInstanceRow.kind != "session",
            col(StepInstanceRow.due_date) < today,
        )
        .group_by(EnrollmentRow.definition_id)
    ).all()
    return {definition_id: int(n) for definition_id, n in found}


LATER = 5


def _later(
    session: Session, actor: Actor, horizon: dt.date, today: dt.date
) -> list[tuple[StepInstanceRow, EnrollmentRow, str, TaskForm]]:
    """The nearest few of one's tasks after next week (assigned to one, or of one's
    roles), so a quiet fortnight still shows what comes."""
    rows = session.exec(
        select(StepInstanceRow, EnrollmentRow, CitizenRow.ref)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
        .where(
            EnrollmentRow.municipality == actor.municipality,
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            StepInstanceRow.kind != "session",
            col(StepInstanceRow.due_date) > horizon,
            or_(
                col(StepInstanceRow.assigned_staff_id) == actor.staff_id,
                col(StepInstanceRow.assignee_role).in_(sorted(actor.roles)),
                col(StepInstanceRow.kind).in_(["meeting", "evaluation"]),  # attendees
            ),
        )
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
        .limit(200)
    ).all()
    people = StepPeople(session, actor.municipality or "", (e.id or 0 for _, e, _ in rows))
    found = []
    for step, e, citizen_ref in rows:
        if actor.staff_id not in people.for_step(step):
            continue
        d = stored_definition(session, e.definition_id, e.definition_version)
        form = build_form(session, d, step, e, today=today, ref_of=enrollment_ref)
        found.append((step, e, citizen_ref, form))
        if len(found) >= LATER:
            break
    return found
