"""Retention: personal data is kept a configured number of years after the case closed
(per kind of data; default 5 years, the common KLE deletion period), then removed so
that the statistics stay.

A citizen's case is closed when none of her enrollments is live; it closed on the last
day any of them ended (or on the day of her last visitation, if she was never enrolled,
or on the day she was registered, if she never had a visitation).

Kinds of data:

- ``identity``: name, CPR, e-mail and phone (``citizen_identity``) are deleted and the
  reference is replaced by ``slettet-<id>``.
- ``notes``: free text and answers that may name her (the eligibility answers of her
  visitations and requests, reasons given for absence, the data typed into completed
  steps, a refused request's reason and error) are emptied.

What the reports count stays: visitations and their decision and reason, enrollments,
outcomes, measurements, attendance marks, consent rows. With identity and notes gone they
no longer point to a person. The audit log is append-only and holds ids and facts only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlmodel import Session, col, select, update

from iba_workflow.clock import COPENHAGEN
from iba_workflow.store.records import audit
from iba_workflow.store.requests import VisitationRequestRow
from iba_workflow.store.tables import (
    AttendanceRow,
    CitizenIdentityRow,
    CitizenRow,
    CompletionRow,
    EnrollmentRow,
    StepInstanceRow,
    VisitationRow,
)

KINDS = ("identity", "notes")
LIVE = ("active", "waiting")
ANONYMOUS_PREFIX = "slettet-"


@dataclass
class RetentionPlan:
    today: dt.date
    periods: dict[str, int]
    citizens: dict[str, list[int]] = field(default_factory=dict)  # kind → citizen ids
    counts: dict[str, int] = field(default_factory=dict)  # "kind.table" → rows

    def summary(self) -> str:
        parts = [f"{k}: {len(v)} borgere" for k, v in self.citizens.items()]
        return "; ".join(parts) + " · " + ", ".join(f"{k}={n}" for k, n in self.counts.items())


def closed_on(session: Session) -> dict[int, dt.date]:
    """Citizen id → the day her case closed, for every citizen with no live case."""
    closed: dict[int, dt.date] = {}
    live: set[int] = set()
    for e in session.exec(select(EnrollmentRow)):
        if e.status in LIVE or e.ended_on is None:
            live.add(e.citizen_id)
            continue
        closed[e.citizen_id] = max(closed.get(e.citizen_id, e.ended_on), e.ended_on)
    for v in session.exec(select(VisitationRow)):
        if v.citizen_id not in closed and v.decision == "rejected":
            closed[v.citizen_id] = v.held_on
        elif v.decision == "rejected":
            closed[v.citizen_id] = max(closed[v.citizen_id], v.held_on)
    seen = live | set(closed)
    seen |= {int(v) for v in session.exec(select(VisitationRow.citizen_id)).all()}
    for citizen in session.exec(select(CitizenRow)):  # registered, never visited
        if citizen.id is not None and citizen.id not in seen:
            closed[citizen.id] = local_date(citizen.created_at)
    return {cid: day for cid, day in closed.items() if cid not in live}


def local_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(COPENHAGEN).date()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def plan_retention(
    session: Session, *, today: dt.date, periods: Mapping[str, int]
) -> RetentionPlan:
    """What would go today (a dry run: nothing is written)."""
    unknown = sorted(set(periods) - set(KINDS))
    if unknown:
        from iba_workflow.errors import InvalidInput

        raise InvalidInput(
            f"no kind of data called {', '.join(unknown)}", hint="kinds: " + ", ".join(KINDS)
        )
    plan = RetentionPlan(today, {k: int(periods.get(k, 5)) for k in KINDS})
    closed = closed_on(session)
    for kind, years in plan.periods.items():
        limit = _years_before(today, years)
        plan.citizens[kind] = sorted(cid for cid, day in closed.items() if day < limit)
    _count(session, plan)
    return plan


def _count(session: Session, plan: RetentionPlan) -> None:
    ids = plan.citizens["identity"]
    identities = session.exec(
        select(CitizenIdentityRow).where(col(CitizenIdentityRow.citizen_id).in_(ids))
    ).all()
    refs = session.exec(
        select(CitizenRow).where(
            col(CitizenRow.id).in_(ids), ~col(CitizenRow.ref).startswith(ANONYMOUS_PREFIX)
        )
    ).all()
    plan.counts["identity.citizen_identity"] = len(identities)
    plan.counts["identity.citizen_ref"] = len(refs)
    notes = plan.citizens["notes"]
    eids = _enrollments(session, notes)
    plan.counts["notes.visitation"] = len(
        session.exec(select(VisitationRow.id).where(col(VisitationRow.citizen_id).in_(notes))).all()
    )
    plan.counts["notes.visitation_request"] = len(
        session.exec(
            select(VisitationRequestRow.id).where(col(VisitationRequestRow.citizen_id).in_(notes))
        ).all()
    )
    plan.counts["notes.attendance"] = len(
        session.exec(
            select(AttendanceRow.id).where(
                col(AttendanceRow.enrollment_id).in_(eids), col(AttendanceRow.reason).is_not(None)
            )
        ).all()
    )
    plan.counts["notes.completion"] = len(
        session.exec(
            select(CompletionRow.id).where(
                col(CompletionRow.step_instance_id).in_(
                    select(StepInstanceRow.id).where(col(StepInstanceRow.enrollment_id).in_(eids))
                )
            )
        ).all()
    )


def _enrollments(session: Session, citizen_ids: list[int]) -> list[int]:
    return [
        int(i)
        for i in session.exec(
            select(EnrollmentRow.id).where(col(EnrollmentRow.citizen_id).in_(citizen_ids))
        ).all()
        if i is not None
    ]


def apply_retention(
    session: Session, plan: RetentionPlan, *, actor: str, at: dt.datetime
) -> RetentionPlan:
    """Carry out ``plan``: flush, never commit (the caller owns the unit of work)."""
    ids = plan.citizens["identity"]
    for row in session.exec(
        select(CitizenIdentityRow).where(col(CitizenIdentityRow.citizen_id).in_(ids))
    ).all():
        session.delete(row)
    for citizen in session.exec(select(CitizenRow).where(col(CitizenRow.id).in_(ids))).all():
        citizen.ref = f"{ANONYMOUS_PREFIX}{citizen.id}"
        session.add(citizen)
    notes = plan.citizens["notes"]
    eids = _enrollments(session, notes)
    session.exec(  # type: ignore[call-overload]
        update(VisitationRow).where(col(VisitationRow.citizen_id).in_(notes)).values(answers={})
    )
    session.exec(  # type: ignore[call-overload]
        update(VisitationRequestRow)
        .where(col(VisitationRequestRow.citizen_id).in_(notes))
        .values(answers=None, reject_reason=None, error=None, weekdays=None)
    )
    session.exec(  # type: ignore[call-overload]
        update(AttendanceRow).where(col(AttendanceRow.enrollment_id).in_(eids)).values(reason=None)
    )
    steps = select(StepInstanceRow.id).where(col(StepInstanceRow.enrollment_id).in_(eids))
    session.exec(  # type: ignore[call-overload]
        update(CompletionRow).where(col(CompletionRow.step_instance_id).in_(steps)).values(data={})
    )
    session.exec(  # type: ignore[call-overload]
        update(EnrollmentRow).where(col(EnrollmentRow.id).in_(eids)).values(weekdays={})
    )
    audit(
        session,
        at=at,
        actor=actor,
        action="retention_applied",
        entity="retention",
        periods=plan.periods,
        citizens={k: len(v) for k, v in plan.citizens.items()},
        counts=plan.counts,
    )
    session.flush()
    return plan


def run_retention(
    session: Session,
    *,
    today: dt.date,
    periods: Mapping[str, int],
    apply: bool,
    actor: str,
    at: dt.datetime,
) -> RetentionPlan:
    """Plan, and with ``apply`` carry out; the caller commits."""
    plan = plan_retention(session, today=today, periods=periods)
    return apply_retention(session, plan, actor=actor, at=at) if apply else plan
