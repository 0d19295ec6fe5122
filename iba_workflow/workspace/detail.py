"""One enrollment: the plan as a timeline by week (done, due, overdue, cancelled; moved
dates with their reason), outcomes, measurements (health ones only with consent),
attendance, the audit trail in words, and notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.engine.context import CalendarProvider
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.engine.target import cohort_key, compute_target, gather_facts
from iba_workflow.store.attendance import attendance_days
from iba_workflow.store.records import has_health_consent
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    AuditRow,
    CitizenRow,
    CohortRow,
    CompletionRow,
    EnrollmentRow,
    MeasurementRow,
    OutcomeRow,
    StaffRow,
    StepInstanceRow,
)

from .listing import total_weeks, week_of

AUDIT_WORDS = {
    "visitation_recorded": "Visitation registreret",
    "step_completed": "Opgave udført",
    "step_skipped": "Opgave sprunget over",
    "step_due": "Opgave forfalden",
    "replanned": "Planen ændret",
    "enrollment_status": "Status ændret",
    "staff_assigned": "Medarbejder tilknyttet",
    "step_reassigned": "Opgave flyttet til en anden medarbejder",
    "admitted_from_waiting_list": "Optaget fra venteliste",
    "read_identity": "Borgerens oplysninger vist",
    "migrated": "Flyttet til ny version",
}
STEP_WORDS = {
    "completed": "Udført",
    "skipped": "Sprunget over",
    "cancelled": "Aflyst",
    "overdue": "Overskredet",
    "due": "Forfalden",
    "planned": "Planlagt",
}


@dataclass
class TimelineStep:
    row: StepInstanceRow
    state: str  # completed / skipped / cancelled / overdue / due / planned
    moved_from: dt.date | None = None
    moved_reason: str | None = None
    assignee: str | None = None

    @property
    def state_words(self) -> str:
        return STEP_WORDS.get(self.state, self.state)


@dataclass
class Detail:
    enrollment: EnrollmentRow
    citizen_ref: str
    intervention: str
    version: int
    cohort: str | None
    week: int
    weeks: int
    timeline: dict[int, list[TimelineStep]]
    outcomes: list[tuple[str, str, dt.date]]
    measurements: list[tuple[str, float, dt.date]]
    health_hidden: int
    attendance: tuple[int, int]
    history: list[tuple[dt.datetime, str, str]]
    notes: list[tuple[dt.date, str, str]]
    open_steps: list[StepInstanceRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)


def _state(row: StepInstanceRow, today: dt.date) -> str:
    if row.status in OPEN_STEP_STATUSES:
        if row.due_date < today:
            return "overdue"
        return "due" if row.due_date == today or row.status in ("due", "notified") else "planned"
    return row.status


def enrollment_detail(
    session: Session, e: EnrollmentRow, *, today: dt.date, calendars: CalendarProvider
) -> Detail:
    d = stored_definition(session, e.definition_id, e.definition_version)
    steps = list(
        session.exec(
            select(StepInstanceRow)
            .where(StepInstanceRow.enrollment_id == e.id)
            .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
        )
    )
    shifts: dict[str, tuple[dt.date | None, str | None]] = {}
    try:
        plan, _target = compute_target(
            d, e, calendars(e.municipality), gather_facts(session, e.id or 0),
            cohort=cohort_key(session, e),
        )  # fmt: skip
        shifts = {s.key: (s.shifted_from, s.shift_reason) for s in plan.steps if s.shift_reason}
    except Exception:  # an old record the planner no longer reads: show it without reasons
        shifts = {}
    staff = list(
        session.exec(
            select(StaffRow)
            .where(StaffRow.municipality == e.municipality, StaffRow.active == True)  # noqa: E712
            .order_by(col(StaffRow.name))
        )
    )
    names = {s.id: s.name for s in staff}
    weeks = total_weeks(session, e)
    timeline: dict[int, list[TimelineStep]] = {}
    for row in steps:
        week = (row.due_date - e.start).days // 7 + 1
        moved = shifts.get(row.key, (None, None))
        timeline.setdefault(week, []).append(
            TimelineStep(
                row, _state(row, today), moved[0], moved[1],
                names.get(row.assigned_staff_id) if row.assigned_staff_id else None,
            )
        )  # fmt: skip
    by_step = {s.id: s for s in steps}
    outcomes = [
        (by_step[o.step_instance_id].name if o.step_instance_id in by_step else o.step_key,
         _outcome_name(d, by_step.get(o.step_instance_id), o.outcome), o.decided_on)
        for o in session.exec(select(OutcomeRow).where(OutcomeRow.enrollment_id == e.id))
    ]  # fmt: skip
    consent = has_health_consent(session, e.citizen_id)
    measurements: list[tuple[str, float, dt.date]] = []
    hidden = 0
    for m in session.exec(
        select(MeasurementRow)
        .where(MeasurementRow.enrollment_id == e.id)
        .order_by(col(MeasurementRow.measured_on))
    ):
        if m.health and not consent:
            hidden += 1
            continue
        measurements.append((m.dimension, m.value, m.measured_on))
    days = attendance_days(session, e.id or 0)  # sessions and weekly absence lists, per day
    present = sum(days.values())
    absent = len(days) - present
    history = [
        (a.at, AUDIT_WORDS.get(a.action, a.action), _audit_detail(a, by_step))
        for a in session.exec(
            select(AuditRow)
            .where(AuditRow.enrollment_id == e.id)
            .order_by(col(AuditRow.at).desc(), col(AuditRow.id).desc())
            .limit(100)
        )
    ]
    notes = [
        (c.completed_on, by_step[c.step_instance_id].name, str(c.data["note"]))
        for c in session.exec(
            select(CompletionRow).where(
                col(CompletionRow.step_instance_id).in_([s.id for s in steps])
            )
        )
        if c.data.get("note") and c.step_instance_id in by_step
    ]
    cohort = session.get(CohortRow, e.cohort_id) if e.cohort_id else None
    citizen = session.get(CitizenRow, e.citizen_id)
    return Detail(
        e,
        citizen.ref if citizen else "",
        d.name,
        d.version,
        cohort.cohort_key if cohort else None,
        week_of(e, today, weeks),
        weeks,
        dict(sorted(timeline.items())),
        outcomes,
        measurements,
        hidden,
        (present, absent),
        history,
        sorted(notes),
        [s for s in steps if s.status in OPEN_STEP_STATUSES and s.kind != "session"],
        staff,
    )


def _outcome_name(d: Any, row: StepInstanceRow | None, outcome: str) -> str:
    if row is None:
        return outcome
    for o in d.step(row.step_id).outcomes_list:
        if o.id == outcome:
            return str(o.name)
    return outcome


def _audit_detail(a: AuditRow, by_step: dict[Any, StepInstanceRow]) -> str:
    details = a.details or {}
    if a.entity == "step_instance" and a.entity_id and int(a.entity_id) in by_step:
        return by_step[int(a.entity_id)].name
    change = details.get("change")
    if isinstance(change, dict):
        kind = change.get("kind")
        if kind == "pause":
            return f"Pause {change.get('from')} – {change.get('to')}"
        if kind == "extend":
            return f"Forlænget {change.get('weeks')} uger"
        if kind == "exit":
            return f"Afsluttet før tid {change.get('on')}"
        if kind == "start":
            return f"Start flyttet {change.get('from')} → {change.get('to')}"
    if "decision" in details:
        return {"accepted": "optaget", "rejected": "afvist", "waiting": "venteliste"}.get(
            str(details["decision"]), str(details["decision"])
        )
    if "status" in details:
        return str(details["status"])
    return ""
