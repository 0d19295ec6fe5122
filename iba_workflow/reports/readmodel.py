"""The reports' own read model: one plain record per visitation of an intervention in a
period, with its enrollment, outcome, attendance and (consented) measurements.

Reads only, never writes. No identity is read: a case is an opaque id here. Health
values of a citizen whose latest consent is not a 'given' are left out (withdrawn consent
hides earlier health values), and so are values of cases whose health data has been
removed by retention.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from iba_workflow.store.attendance import attendance_days
from iba_workflow.store.tables import (
    CohortRow,
    ConsentRow,
    DefinitionVersionRow,
    EnrollmentRow,
    MeasurementRow,
    OutcomeRow,
    StepInstanceRow,
    VisitationRow,
)

STAGES = ("start", "midtvejs", "slut")


@dataclass(frozen=True)
class Measure:
    dimension: str
    stage: str  # start / midtvejs / slut
    value: float
    health: bool


@dataclass
class Case:
    """One visitation and what followed, as of the end of the period."""

    visitation_id: int
    held_on: dt.date
    decision: str  # accepted / rejected / waiting (as decided at the visitation)
    reason: str | None
    cohort: str
    status: str = "afvist"  # afvist / venter / ikke_startet / aktiv / afbrudt / afsluttet
    paused: bool = False
    started_on: dt.date | None = None
    waited_days: int | None = None
    outcome: str | None = None  # the latest outcome id decided by the end of the period
    attendance: list[tuple[dt.date, bool]] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)


@dataclass(frozen=True)
class ReadModel:
    definition_id: str
    name: str
    period_from: dt.date
    period_to: dt.date
    cases: list[Case]
    outcome_names: dict[str, str]
    dimension_names: dict[str, str]


def stage_of(step_id: str) -> str | None:
    for stage, words in (("start", ("start",)), ("midtvejs", ("midt",)), ("slut", ("slut",))):
        if any(w in step_id for w in words):
            return stage
    return None


def read_model(
    session: Session, definition_id: str, period_from: dt.date, period_to: dt.date
) -> ReadModel:
    """Every visitation of ``definition_id`` held in the period, as of ``period_to``."""
    versions = session.exec(
        select(DefinitionVersionRow)
        .where(DefinitionVersionRow.definition_id == definition_id)
        .order_by(col(DefinitionVersionRow.version))
    ).all()
    outcome_names, dimension_names, name = _names(versions, definition_id)
    visitations = session.exec(
        select(VisitationRow)
        .where(
            VisitationRow.definition_id == definition_id,
            col(VisitationRow.held_on) >= period_from,
            col(VisitationRow.held_on) <= period_to,
        )
        .order_by(col(VisitationRow.held_on), col(VisitationRow.id))
    ).all()
    enrollments = {
        e.visitation_id: e
        for e in session.exec(
            select(EnrollmentRow).where(
                col(EnrollmentRow.visitation_id).in_([v.id for v in visitations])
            )
        )
    }
    cohorts = {c.id: c.cohort_key for c in session.exec(select(CohortRow)) if c.id is not None}
    consent = _consent_now(session)
    cases = []
    for v in visitations:
        e = enrollments.get(v.id or 0)
        case = Case(v.id or 0, v.held_on, v.decision, v.reason, "–")
        if e is not None:
            _fill(session, case, e, cohorts, period_to, consent.get(e.citizen_id, False))
        cases.append(case)
    return ReadModel(
        definition_id, name, period_from, period_to, cases, outcome_names, dimension_names
    )


def _names(
    versions: Sequence[DefinitionVersionRow], definition_id: str
) -> tuple[dict[str, str], dict[str, str], str]:
    outcomes: dict[str, str] = {}
    dimensions: dict[str, str] = {}
    name = definition_id
    for row in versions:  # later versions win
        name = str(row.body.get("name", name))
        for step in row.body.get("steps", []):
            for o in step.get("outcomes", []) or []:
                outcomes[o["id"]] = o["name"]
            for d in step.get("dimensions", []) or []:
                dimensions[d["id"]] = d["name"] + (f" ({d['unit']})" if d.get("unit") else "")
    return outcomes, dimensions, name


def _consent_now(session: Session) -> dict[int, bool]:
    latest: dict[int, bool] = {}
    rows = session.exec(
        select(ConsentRow)
        .where(ConsentRow.scope == "health")
        .order_by(col(ConsentRow.at), col(ConsentRow.id))
    )
    for row in rows:
        latest[row.citizen_id] = row.given
    return latest


def _fill(
    session: Session,
    case: Case,
    e: EnrollmentRow,
    cohorts: dict[int, str],
    to: dt.date,
    health_consent: bool,
) -> None:
    eid = e.id or 0
    cohort = cohorts.get(e.cohort_id) if e.cohort_id is not None else None
    case.cohort = cohort or f"løbende {e.start:%Y-%m}"
    if case.decision == "waiting" or e.status == "waiting":
        until = min(e.start, to) if e.status != "waiting" else to
        case.waited_days = (until - case.held_on).days
    if e.status == "waiting":
        case.status = "venter"
        return
    if e.start > to:
        case.status = "ikke_startet"
        return
    case.started_on = e.start
    if e.ended_on is not None and e.ended_on <= to:
        case.status = "afbrudt" if e.status == "exited" else "afsluttet"
    else:
        case.status = "aktiv"
        case.paused = any(
            a.get("kind") == "pause" and a["from"] <= to.isoformat() <= a["to"]
            for a in e.adjustments
        )
    latest = session.exec(
        select(OutcomeRow)
        .where(OutcomeRow.enrollment_id == eid, col(OutcomeRow.decided_on) <= to)
        .order_by(col(OutcomeRow.decided_on).desc(), col(OutcomeRow.id).desc())
    ).first()
    case.outcome = latest.outcome if latest else None
    # One mark per day, from the sessions and the weekly absence lists (engine/absence.py).
    case.attendance = list(attendance_days(session, eid, until=to).items())
    rows = session.exec(
        select(MeasurementRow, StepInstanceRow.step_id)
        .join(StepInstanceRow, col(StepInstanceRow.id) == MeasurementRow.step_instance_id)
        .where(MeasurementRow.enrollment_id == eid, col(MeasurementRow.measured_on) <= to)
    ).all()
    for m, step_id in rows:
        stage = stage_of(step_id)
        if stage is None or (m.health and not health_consent):
            continue
        case.measures.append(Measure(m.dimension, stage, m.value, m.health))
