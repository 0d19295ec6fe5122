"""What "Min side" shows a signed-in person, each row through the policy: her open
tasks (every role), and for a coordinator the enrollments she coordinates, with the
citizen's name read through the audited accessor (page ``min-side``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine.apply import Recipients
from iba_workflow.errors import IbaError
from iba_workflow.store.tables import EnrollmentRow, StepInstanceRow

from .policy import Action, Actor, Kind, Resource, decide, read_identity

OPEN = ("planned", "due", "notified")
ACTIVE = ("waiting", "active")
MAX_ROWS = 200
MAX_TASKS = 25  # the nearest ones; the rest are counted


@dataclass(frozen=True)
class TaskLine:
    name: str
    intervention: str
    enrollment: str
    due: dt.date
    status: str


@dataclass(frozen=True)
class EnrollmentLine:
    enrollment: str
    intervention: str
    citizen_name: str
    start: dt.date
    status: str


def _names(session: Session) -> dict[str, str]:
    from iba_workflow.store.tables import DefinitionVersionRow

    out: dict[str, str] = {}
    for row in session.exec(select(DefinitionVersionRow)):
        out[row.definition_id] = str(row.body.get("name", row.definition_id))
    return out


def my_page(session: Session, actor: Actor, *, now: dt.datetime) -> dict[str, Any]:
    names = _names(session)
    tasks: list[TaskLine] = []
    enrollments = {
        e.id: e
        for e in session.exec(
            select(EnrollmentRow).where(
                EnrollmentRow.municipality == actor.municipality,
                col(EnrollmentRow.status).in_(ACTIVE),
            )
        )
    }
    recipients: dict[int, Recipients] = {}
    steps = session.exec(
        select(StepInstanceRow)
        .where(
            col(StepInstanceRow.enrollment_id).in_(list(enrollments)),
            col(StepInstanceRow.status).in_(OPEN),
            StepInstanceRow.kind != "session",  # the weekly lessons are in the schedule
        )
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
    ).all()
    for step in steps:
        e = enrollments[step.enrollment_id]
        if step.enrollment_id not in recipients:
            recipients[step.enrollment_id] = Recipients(session, e)
        mine = frozenset(recipients[step.enrollment_id].for_step(step))
        if actor.staff_id not in mine:  # one's own tasks here, not all one could see
            continue
        resource = Resource(
            kind=Kind.TASK,
            municipality=e.municipality,
            definition_id=e.definition_id,
            staff_ids=mine,
        )
        if decide(actor, Action.VIEW, resource):
            tasks.append(
                TaskLine(
                    step.name,
                    names.get(e.definition_id, e.definition_id),
                    enrollment_ref(e.id or 0),
                    step.due_date,
                    step.status,
                )
            )
    return {
        "tasks": tasks[:MAX_TASKS],
        "more_tasks": max(0, len(tasks) - MAX_TASKS),
        "coordinator": actor.is_coordinator,
        "enrollments": _coordinated(session, actor, enrollments.values(), names, now=now),
    }


def _coordinated(
    session: Session,
    actor: Actor,
    enrollments: Any,
    names: dict[str, str],
    *,
    now: dt.datetime,
) -> list[EnrollmentLine]:
    lines: list[EnrollmentLine] = []
    for e in sorted(enrollments, key=lambda e: (e.definition_id, e.id)):
        resource = Resource(
            kind=Kind.ENROLLMENT, municipality=e.municipality, definition_id=e.definition_id
        )
        if not decide(actor, Action.VIEW, resource) or len(lines) >= MAX_ROWS:
            continue
        try:
            who = read_identity(
                session, actor, citizen_id=e.citizen_id, enrollment=resource, page="min-side",
                now=now,
            )  # fmt: skip
            name = who.name or "(intet navn)"
        except IbaError:
            name = "(ingen oplysninger)"
        lines.append(
            EnrollmentLine(
                enrollment_ref(e.id or 0),
                names.get(e.definition_id, e.definition_id),
                name,
                e.start,
                e.status,
            )
        )
    return lines
