"""Shared steps of the engine operations: re-plan an enrollment against the record,
close it when it is over, and give a freed place to the waiting list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from iba_workflow.definition import Definition
from iba_workflow.errors import NotFound
from iba_workflow.store.records import audit, health_consent_withdrawn, pk
from iba_workflow.store.rows import (
    cancelled_from,
    count_not_done,
    enqueue_many,
    enrollment_steps,
    get_by_id,
    outbox_values,
    recipients_told,
    step_rows,
    waiting_ids,
)
from iba_workflow.store.tables import (
    DONE_STEP_STATUSES,
    CohortRow,
    EnrollmentRow,
    StepInstanceRow,
)

from .apply import Recipients, apply_target, live_members
from .context import EngineContext
from .definitions import definition_of
from .own_days import own_weekdays
from .target import (
    Facts,
    ImpactLine,
    cohort_key,
    compute_target,
    diff_instances,
    gather_facts,
)

LIVE_STATUSES = ("active", "waiting")
ENDED_KIND = "enrollment_ended"
COORDINATOR_ROLE = "iba"


def get_enrollment(session: Session, enrollment_id: int) -> EnrollmentRow:
    row = get_by_id(session, EnrollmentRow, enrollment_id)
    if row is None:
        raise NotFound(f"no enrollment {enrollment_id}", hint="list enrollments with: iba status")
    return row


_INSTANCES = (
    select(StepInstanceRow)
    .where(StepInstanceRow.enrollment_id == bindparam("enrollment"))
    .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
)


def instances_of(session: Session, enrollment_id: int) -> list[StepInstanceRow]:
    """The enrollment's step rows by date (the statement built once)."""
    return list(session.exec(_INSTANCES, params={"enrollment": enrollment_id}))


_FACTS = enrollment_steps("id", "key", "name", "status", "due_date", "due_time", "reminders")


def instance_facts(session: Session, enrollment_id: int) -> list[Any]:
    """What re-planning compares of the enrollment's step rows (id, key, name, status,
    due date and time, reminders), by date, as plain rows: a HOP enrollment has some
    120 steps, and making an ORM object of each was a quarter of a completion's time.
    :func:`apply_target` loads the objects of the few rows it changes."""
    return step_rows(session, _FACTS, enrollment_id)


def replan_enrollment(
    session: Session,
    ctx: EngineContext,
    enrollment: EnrollmentRow,
    *,
    facts: Facts | None = None,
    adjustments: Sequence[Mapping[str, Any]] | None = None,
    write: bool = True,
    definition: Definition | None = None,
) -> list[ImpactLine]:
    """Compare the record with the plan it should hold; write the difference if asked.
    ``definition``: the enrollment's own version, if the caller has it at hand."""
    d = definition or definition_of(session, enrollment)
    _plan, target = compute_target(
        d,
        enrollment,
        ctx.calendars(enrollment.municipality),
        facts or gather_facts(session, enrollment.id or 0),
        cohort=cohort_key(session, enrollment),
        adjustments=adjustments,
        own_weekdays=own_weekdays(session, d, enrollment),  # her own days (issue 12)
    )
    if health_consent_withdrawn(session, enrollment.citizen_id):
        # consent withdrawn: no health-only step stays open or is planned anew; the plan
        # gets them back when consent is given again (engine.intake.record_consent)
        target = {k: t for k, t in target.items() if not d.step(t.step.step_id).health}
    instances = instance_facts(session, enrollment.id or 0)
    lines = diff_instances(instances, target)
    if write:
        apply_target(session, ctx, enrollment, instances, target, lines)
    return lines


def close_if_finished(
    session: Session, ctx: EngineContext, enrollment: EnrollmentRow, *, left: int | None = None
) -> bool:
    """An active enrollment with nothing left to do is completed. ``left``: how many of
    its steps are not done, if the caller knows (else they are counted)."""
    if enrollment.status != "active":
        return False
    if left is None:
        left = count_not_done(session, pk(enrollment))
    if left:
        return False
    set_status(session, ctx, enrollment, "completed", reason="alle trin afsluttet")
    return True


def set_status(
    session: Session,
    ctx: EngineContext,
    enrollment: EnrollmentRow,
    status: str,
    *,
    reason: str | None = None,
    ended_on: dt.date | None = None,
) -> None:
    old = enrollment.status
    if status in ("ended", "exited"):
        cancel_open_steps(session, ctx, enrollment)
    enrollment.status = status
    enrollment.updated_at = ctx.now()
    if status in ("ended", "exited", "completed"):
        enrollment.ended_on = ended_on or ctx.today()
        enrollment.ended_reason = reason
    session.add(enrollment)
    if old == "active" and status in ("ended", "exited", "completed"):
        announce_end(session, ctx, enrollment)
    audit(
        session,
        at=ctx.now(),
        actor=ctx.actor,
        action="enrollment_status",
        entity="enrollment",
        entity_id=enrollment.id,
        enrollment_id=enrollment.id,
        citizen_id=enrollment.citizen_id,
        old=old,
        new=status,
        reason=reason,
    )
    if old == "active" and status != "active":
        admit_waiting(session, ctx, enrollment.definition_id, enrollment.cohort_id)


def cancel_open_steps(session: Session, ctx: EngineContext, enrollment: EnrollmentRow) -> int:
    """Cancel what is still open when an enrollment ends. No mail per step: the end is one
    message per person (:func:`announce_end`)."""
    cancelled = 0
    for row in instances_of(session, enrollment.id or 0):
        if row.status in DONE_STEP_STATUSES:
            continue
        row.status, row.updated_at = "cancelled", ctx.now()
        session.add(row)
        cancelled += 1
    session.flush()
    return cancelled


def announce_end(session: Session, ctx: EngineContext, enrollment: EnrollmentRow) -> int:
    """One ``enrollment_ended`` notification per person: the coordinator (role ``iba``)
    and everyone who was ever sent something about this enrollment. It names how many
    planned steps from the end date on were cancelled; which of them get a calendar
    CANCEL is decided when it is sent (only meetings already sent to that person)."""
    ended_on = enrollment.ended_on or ctx.today()
    cancelled = [
        step_id
        for step_id, group_key in cancelled_from(session, pk(enrollment), ended_on)
        # a group occurrence others still attend stays in everyone's calendar
        if not live_members(session, step_id, group_key)
    ]
    told = recipients_told(session, pk(enrollment), but=ENDED_KIND)
    coordinator = Recipients(session, enrollment, on=ctx.today()).for_role(COORDINATOR_ROLE)
    people = sorted({*told, *([coordinator] if coordinator else [])})
    now = ctx.now()
    made = enqueue_many(
        session,
        [
            outbox_values(
                message_id=f"{ENDED_KIND}/{enrollment.id}/{staff_id}",
                kind=ENDED_KIND,
                recipient_staff_id=staff_id,
                now=now,
                enrollment_id=enrollment.id,
                payload={
                    "enrollment_id": enrollment.id,
                    "status": enrollment.status,
                    "reason": enrollment.ended_reason,
                    "ended_on": ended_on.isoformat(),
                    "cancelled": len(cancelled),
                    "cancelled_steps": cancelled,
                },
                status="new",
            )
            for staff_id in people
        ],
    )
    session.flush()
    return made


def active_count(session: Session, definition_id: str, cohort_id: int | None) -> int:
    query = (
        select(func.count())
        .select_from(EnrollmentRow)
        .where(EnrollmentRow.definition_id == definition_id, EnrollmentRow.status == "active")
    )
    if cohort_id is not None:
        query = query.where(EnrollmentRow.cohort_id == cohort_id)
    return int(session.exec(query).one())


def capacity_for(session: Session, enrollment: EnrollmentRow) -> int:
    if enrollment.cohort_id is not None:
        cohort = session.get(CohortRow, enrollment.cohort_id)
        if cohort is not None:
            return cohort.capacity
    return definition_of(session, enrollment).capacity


def admit_waiting(
    session: Session, ctx: EngineContext, definition_id: str, cohort_id: int | None
) -> None:
    """Give free places to the longest-waiting enrollments (a cohort only before it starts)."""
    if not waiting_ids(session, definition_id, cohort_id):  # the usual case: nobody waits
        return
    query = (
        select(EnrollmentRow)
        .where(EnrollmentRow.definition_id == definition_id, EnrollmentRow.status == "waiting")
        .order_by(col(EnrollmentRow.id))
    )
    if cohort_id is not None:
        query = query.where(EnrollmentRow.cohort_id == cohort_id)
    for waiting in session.exec(query).all():
        if active_count(session, definition_id, waiting.cohort_id) >= capacity_for(
            session, waiting
        ):
            return
        today = ctx.today()
        if waiting.cohort_id is None:
            d = definition_of(session, waiting)
            cal = ctx.calendars(waiting.municipality)
            earliest = cal.add_working_days(today, 1)
            lead_start = today + dt.timedelta(
                days=d.intake.lead.amount * (7 if d.intake.lead.unit == "weeks" else 1)
            )
            new_start = max(waiting.start, lead_start, earliest)
            moved = cal.shift(new_start, "next")
            waiting.start = moved.date if moved else new_start
            waiting.visitation_on = min(waiting.visitation_on, waiting.start)
        elif waiting.start < today:
            continue
        waiting.status = "active"
        waiting.updated_at = ctx.now()
        session.add(waiting)
        replan_enrollment(session, ctx, waiting)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="admitted_from_waiting_list",
            entity="enrollment",
            entity_id=waiting.id,
            enrollment_id=waiting.id,
            citizen_id=waiting.citizen_id,
            start=waiting.start,
        )
