"""People and intake: staff, citizens, consent, and the visitation that enrolls (or not)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from iba_workflow.cpr_guard import refuse_cpr
from iba_workflow.definition import Definition
from iba_workflow.errors import ConsentMissing, InvalidInput, InvalidTransition, NotFound
from iba_workflow.store.records import audit, citizen_by_ref, has_health_consent, pk
from iba_workflow.store.tables import (
    CitizenIdentityRow,
    CitizenRow,
    CohortRow,
    ConsentRow,
    EnrollmentRow,
    EnrollmentStaffRow,
    StaffRow,
    VisitationRow,
)

from .context import EngineContext, transaction
from .definitions import register_definition
from .lifecycle import LIVE_STATUSES, active_count, get_enrollment, replan_enrollment
from .target import ImpactLine


def add_staff(
    session: Session,
    ctx: EngineContext,
    *,
    name: str,
    email: str,
    roles: Sequence[str],
    municipality: str,
) -> StaffRow:
    with transaction(session):
        if session.exec(select(StaffRow).where(StaffRow.email == email)).first():
            raise InvalidInput("a staff member with that e-mail exists already")
        if not roles:
            raise InvalidInput("a staff member needs at least one role", hint="--role iba")
        row = StaffRow(
            name=name,
            email=email,
            roles=list(roles),
            municipality=municipality,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="staff_added",
            entity="staff",
            entity_id=row.id,
            roles=list(roles),
            municipality=municipality,
        )
    return row


def register_citizen(
    session: Session,
    ctx: EngineContext,
    *,
    ref: str,
    municipality: str,
    name: str | None = None,
    cpr: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> CitizenRow:
    """A citizen under an opaque reference (never CPR-shaped); identity details go to
    their own table."""
    refuse_cpr(ref, where="reference", field="citizen_ref")
    with transaction(session):
        if session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).first():
            raise InvalidInput(f"citizen '{ref}' is registered already")
        row = CitizenRow(ref=ref, municipality=municipality, created_at=ctx.now())
        session.add(row)
        session.flush()
        if any(v is not None for v in (name, cpr, email, phone)):
            session.add(
                CitizenIdentityRow(citizen_id=row.id, name=name, cpr=cpr, email=email, phone=phone)
            )
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="citizen_registered",
            entity="citizen",
            entity_id=row.id,
            citizen_id=row.id,
            identity_recorded=any(v is not None for v in (name, cpr, email, phone)),
        )
    return row


def record_consent(session: Session, ctx: EngineContext, *, citizen_ref: str, given: bool) -> None:
    """Consent to record health data is given or withdrawn (the latest one holds)."""
    with transaction(session):
        citizen = citizen_by_ref(session, citizen_ref)
        session.add(
            ConsentRow(
                citizen_id=pk(citizen),
                scope="health",
                given=given,
                by_staff_id=ctx.staff_id,
                at=ctx.now(),
            )
        )
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="consent_given" if given else "consent_withdrawn",
            entity="consent",
            citizen_id=citizen.id,
            scope="health",
        )
        session.flush()
        _replan_health_steps(session, ctx, citizen_id=pk(citizen), given=given)


def _replan_health_steps(
    session: Session, ctx: EngineContext, *, citizen_id: int, given: bool
) -> None:
    """After a withdrawal the citizen's live enrollments lose their open health-only steps
    (cancelled through the ordinary re-plan, so the dispatcher's usual cancellation and
    digest rules apply, no mail of its own); consent given again plans them anew. Done
    steps and the health values already recorded are never touched."""
    live = session.exec(
        select(EnrollmentRow).where(
            EnrollmentRow.citizen_id == citizen_id, EnrollmentRow.status == "active"
        )
    ).all()
    for enrollment in live:
        lines = replan_enrollment(session, ctx, enrollment)
        change = "cancelled" if not given else "added"
        keys = sorted(line.key for line in lines if line.change == change)
        if keys:
            audit(
                session,
                at=ctx.now(),
                actor=ctx.actor,
                action="health_steps_cancelled" if not given else "health_steps_replanned",
                entity="enrollment",
                entity_id=enrollment.id,
                enrollment_id=enrollment.id,
                citizen_id=citizen_id,
                steps=keys,
            )


def assign_staff(
    session: Session, ctx: EngineContext, *, enrollment_id: int, role: str, staff_id: int
) -> None:
    with transaction(session):
        get_enrollment(session, enrollment_id)
        staff = session.get(StaffRow, staff_id)
        if staff is None:
            raise NotFound(f"no staff member {staff_id}")
        found = session.exec(
            select(EnrollmentStaffRow).where(
                EnrollmentStaffRow.enrollment_id == enrollment_id, EnrollmentStaffRow.role == role
            )
        ).first() or EnrollmentStaffRow(enrollment_id=enrollment_id, role=role, staff_id=staff_id)
        found.staff_id = staff_id
        session.add(found)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="staff_assigned",
            entity="enrollment",
            entity_id=enrollment_id,
            enrollment_id=enrollment_id,
            role=role,
            staff_id=staff_id,
        )


@dataclass
class VisitationResult:
    visitation_id: int
    decision: str  # accepted / rejected / waiting
    enrollment_id: int | None = None
    start: dt.date | None = None
    steps: list[ImpactLine] = field(default_factory=list)


def record_visitation(
    session: Session,
    ctx: EngineContext,
    *,
    citizen_ref: str,
    definition: Definition,
    accept: bool,
    reject_reason: str | None = None,
    answers: Mapping[str, bool] | None = None,
    start: dt.date | None = None,
    cohort: str | None = None,
    duration_weeks: int | None = None,
    weekdays: Mapping[str, list[str]] | None = None,
) -> VisitationResult:
    """Record a visitation with its eligibility checklist. Accepted: an enrollment whose
    plan is persisted as step instances (or a place on the waiting list when full).

    An accepted visitation answers every criterion (health ones only with consent); the
    reject reason is free text: it stays on the visitation row, the audit refers to it."""
    refuse_cpr(citizen_ref, where="reference", field="citizen_ref")
    if reject_reason is not None:
        refuse_cpr(reject_reason, where="text", field="reject_reason")
    if start is not None:
        ctx.check_date(start, field="start")
    with transaction(session):
        d = definition
        citizen = citizen_by_ref(session, citizen_ref)
        today = ctx.today()
        recorded = _check_answers(session, d, citizen.id or 0, answers, accept)
        if accept == (reject_reason is not None):
            raise InvalidInput(
                "a visitation is either accepted or rejected with a reason",
                hint="give --accept, or --reject REASON",
            )
        digest = register_definition(session, ctx, d)
        visitation = VisitationRow(
            citizen_id=pk(citizen),
            definition_id=d.id,
            definition_version=d.version,
            held_on=today,
            decision="rejected" if not accept else "accepted",
            reason=reject_reason,
            answers=recorded,
            decided_by=ctx.staff_id,
            created_at=ctx.now(),
        )
        session.add(visitation)
        session.flush()
        result = VisitationResult(pk(visitation), visitation.decision)
        if accept:
            _refuse_second_enrollment(session, pk(citizen), d.id)
            cohort_row, first_day = _start_of(session, ctx, d, start, cohort)
            enrollment = EnrollmentRow(
                citizen_id=pk(citizen),
                visitation_id=pk(visitation),
                definition_id=d.id,
                definition_version=d.version,
                content_hash=digest,
                municipality=d.municipality,
                start=first_day,
                visitation_on=min(today, first_day),
                cohort_id=cohort_row.id if cohort_row else None,
                status="active",
                duration_weeks=duration_weeks,
                weekdays=dict(weekdays or {}),
                adjustments=[],  # given: a default_factory is slow to construct
                created_at=ctx.now(),
                updated_at=ctx.now(),
            )
            capacity = cohort_row.capacity if cohort_row else d.capacity
            if active_count(session, d.id, enrollment.cohort_id) >= capacity:
                enrollment.status = visitation.decision = result.decision = "waiting"
                session.add(visitation)
            session.add(enrollment)
            session.flush()
            result.enrollment_id, result.start = enrollment.id, enrollment.start
            if enrollment.status == "active":
                result.steps = replan_enrollment(session, ctx, enrollment)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="visitation_recorded",
            entity="visitation",
            entity_id=visitation.id,
            citizen_id=citizen.id,
            enrollment_id=result.enrollment_id,
            definition=d.id,
            version=d.version,
            decision=result.decision,
            free_text=["reason"] if reject_reason is not None else [],  # on the visitation
        )
    return result


def _check_answers(
    session: Session,
    d: Definition,
    citizen_id: int,
    answers: Mapping[str, bool] | None,
    accept: bool,
) -> dict[str, bool]:
    criteria = {c.id: c for c in d.eligibility}
    consent = has_health_consent(session, citizen_id)
    answers = dict(answers or {})
    unknown = sorted(set(answers) - set(criteria))
    if unknown:
        raise InvalidInput(
            f"'{d.id}' has no eligibility criterion {', '.join(unknown)}",
            hint="criteria: " + ", ".join(criteria),
        )
    for cid in answers:
        if criteria[cid].health and not consent:
            raise ConsentMissing(
                f"criterion '{cid}' is health data and the citizen has given no consent",
                hint="record consent first (iba consent REF --given), or leave it out",
            )
    if accept:
        require_every_answer(d, answers, consent=consent)
        unmet = [c.id for c in d.eligibility if c.required and answers.get(c.id) is False]
        if unmet:
            raise InvalidInput(
                f"cannot accept: required criteria not met: {', '.join(unmet)}",
                hint="reject with a reason instead",
            )
    return dict(answers)


def require_every_answer(d: Definition, answers: Mapping[str, bool], *, consent: bool) -> None:
    """An accepted visitation answers every criterion of ``d``; refuse it, naming the
    missing ones. A health criterion counts only when the citizen has consented (without
    consent it cannot be recorded at all)."""
    missing = [c.id for c in d.eligibility if c.id not in answers and (consent or not c.health)]
    if missing:
        raise InvalidInput(
            f"cannot accept: eligibility criteria not answered: {', '.join(missing)} / "
            f"kriterier uden svar: {', '.join(missing)}",
            hint="answer every criterion yes or no (answers, or --answer CRITERION=yes)",
            missing=missing,
        )


def _refuse_second_enrollment(session: Session, citizen_id: int, definition_id: str) -> None:
    live = session.exec(
        select(EnrollmentRow).where(
            EnrollmentRow.citizen_id == citizen_id,
            EnrollmentRow.definition_id == definition_id,
            col(EnrollmentRow.status).in_(LIVE_STATUSES),
        )
    ).first()
    if live is not None:
        raise InvalidTransition(
            f"the citizen is already enrolled in '{definition_id}' (enrollment {live.id})",
            hint=f"see: iba status {live.id}",
        )


def _start_of(
    session: Session,
    ctx: EngineContext,
    d: Definition,
    start: dt.date | None,
    cohort: str | None,
) -> tuple[CohortRow | None, dt.date]:
    cal = ctx.calendars(d.municipality)
    if d.intake.kind == "cohort":
        known = {c.id: c for c in d.intake.cohorts}
        if cohort is None or cohort not in known:
            raise InvalidInput(
                f"'{d.id}' starts in cohorts; name one"
                if cohort is None
                else f"'{d.id}' has no cohort '{cohort}'",
                hint="cohorts: " + (", ".join(known) or "(none)"),
            )
        row = session.exec(
            select(CohortRow).where(CohortRow.definition_id == d.id, CohortRow.cohort_key == cohort)
        ).first()
        if row is None:
            row = CohortRow(
                definition_id=d.id,
                cohort_key=cohort,
                start=known[cohort].start,
                capacity=d.capacity,
            )
            session.add(row)
            session.flush()
        return row, row.start
    if cohort is not None:
        raise InvalidInput(f"'{d.id}' has rolling intake, so no cohorts", hint="give --start")
    if start is None:
        lead = d.intake.lead
        if lead.unit == "working_days":
            start = cal.add_working_days(ctx.today(), lead.amount)
        else:
            start = ctx.today() + dt.timedelta(
                days=lead.amount * (7 if lead.unit == "weeks" else 1)
            )
    moved = cal.shift(start, "next")
    first = moved.date if moved else start
    if first < ctx.today():
        raise InvalidInput("the start date is in the past", hint="give a later --start")
    return None, first
