"""Completing one's own task from the workspace, with no mail link: the same form as
the task page (``web.forms``), the engine's ``complete_step``, one unit of work.

A step planned for a later day is not completed at once: the page first shows what
completing it now would change (the engine run in a transaction that is rolled back),
and asks again. The receipt says what was recorded and what happens next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine import complete_step
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.errors import IbaError, NotFound
from iba_workflow.identity.policy import Action, Kind, PageAccess, Resource, require
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    EnrollmentRow,
    StepInstanceRow,
)
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.forms import TaskForm, build_form, parse_form, recorded_lines
from iba_workflow.web.impact import (
    ImpactText,
    confirm_pairs,
    early_impact,
    impact_text,
    is_early,
)

from .context import Workspace
from .people import StepPeople


@dataclass
class Receipt:
    step_name: str
    ref: str
    recorded: list[str]
    changes: list[ImpactText]
    next_steps: list[StepInstanceRow]
    enrollment_status: str


@dataclass
class EarlyWarning:
    step: StepInstanceRow
    ref: str
    changes: list[ImpactText]
    posted: list[tuple[str, str]] = field(default_factory=list)


def _task(
    session: Session, ws: Workspace, access: PageAccess, step_id: int
) -> tuple[StepInstanceRow, EnrollmentRow, Any, TaskForm]:
    step = session.get(StepInstanceRow, step_id)
    enrollment = session.get(EnrollmentRow, step.enrollment_id) if step else None
    if step is None or enrollment is None:
        raise NotFound(f"no step {step_id}")
    today = ws.engine_ctx(access).today()
    people = StepPeople(session, enrollment.municipality, [enrollment.id or 0], on=today)
    require(
        access.actor,
        Action.ACT,
        Resource(
            kind=Kind.TASK,
            municipality=enrollment.municipality,
            definition_id=enrollment.definition_id,
            staff_ids=frozenset(people.for_step(step)),
        ),
    )
    d = stored_definition(session, enrollment.definition_id, enrollment.definition_version)
    form = build_form(
        session, d, step, enrollment, today=today, ref_of=enrollment_ref, calendars=ws.calendars
    )
    return step, enrollment, d, form


def early_warning(
    ws: Workspace, access: PageAccess, step_id: int, posted: Any
) -> EarlyWarning | None:
    """What completing a step before its day would change, or None if it is due (or the
    person has confirmed). Nothing is kept (``web.impact.early_impact``)."""
    ctx = ws.engine_ctx(access)
    with ws.ident.session_factory() as session:
        step, enrollment, _d, form = _task(session, ws, access, step_id)
        if not is_early(step, ctx, posted):
            return None
        sub = parse_form(form, posted, own_step_id=step.id or 0)
        session.expunge(step)
    changes = early_impact(ws.ident.session_factory, ctx, step_id, sub.outcome, sub.data)
    return EarlyWarning(step, enrollment_ref(enrollment.id or 0), changes, confirm_pairs(posted))


def complete_own_task(
    ws: Workspace, access: PageAccess, step_id: int, posted: Mapping[str, Any]
) -> Receipt:
    """Complete the step in one unit of work; raises :class:`IbaError` if refused."""
    ctx = ws.engine_ctx(access)
    with unit_of_work(ws.ident.session_factory) as session:
        step, enrollment, _d, form = _task(session, ws, access, step_id)
        if step.status not in OPEN_STEP_STATUSES:
            raise IbaError("opgaven er allerede afsluttet")
        sub = parse_form(form, posted, own_step_id=step.id or 0)
        result = complete_step(
            session, ctx, step_instance_id=step_id, outcome=sub.outcome, data=sub.data
        )
        for other_id, data in sub.others.items():  # the rest of an absence list
            complete_step(session, ctx, step_instance_id=other_id, data=data)
        recorded = recorded_lines(form, sub.outcome, sub.data, others=len(sub.others))
        next_steps = list(
            session.exec(
                select(StepInstanceRow)
                .where(
                    StepInstanceRow.enrollment_id == enrollment.id,
                    col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
                    StepInstanceRow.kind != "session",
                )
                .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
                .limit(3)
            )
        )
        for s in next_steps:
            session.expunge(s)
        return Receipt(
            step.name,
            enrollment_ref(enrollment.id or 0),
            recorded,
            impact_text(result.changes),
            next_steps,
            result.enrollment_status,
        )


def today_of(ws: Workspace, access: PageAccess) -> dt.date:
    return ws.engine_ctx(access).today()
