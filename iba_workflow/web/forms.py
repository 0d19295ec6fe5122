"""What a task page asks, per step kind, and turning the posted form into the
``outcome`` and ``data`` that ``engine.complete_step`` takes.

Kinds: meeting held (who attended, notes), evaluation and test (the definition's
outcomes as radio buttons, notes), measurement (the definition's dimensions and scales;
health dimensions only with a consent on file), weekly absence list (one row per
participant whose absence task is due), plain task (done + note).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow import paths
from iba_workflow.calendar import WEEKDAYS_DA
from iba_workflow.definition import Definition
from iba_workflow.definition.model import MeasurementStep
from iba_workflow.engine.absence import list_days
from iba_workflow.engine.context import CalendarProvider, calendars_from
from iba_workflow.errors import InvalidInput
from iba_workflow.store.records import has_health_consent
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CitizenRow,
    EnrollmentRow,
    StepInstanceRow,
)

MAX_NOTE = 2000
CITIZEN = "borger"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str | None = None


@dataclass(frozen=True)
class NumberField:
    name: str
    label: str
    min: float
    max: float
    unit: str | None = None
    labels: tuple[Choice, ...] = ()  # a scale with named points: radio buttons


@dataclass(frozen=True)
class AbsenceRow:
    step_instance_id: int
    ref: str
    citizen_ref: str
    due_date: dt.date
    days: tuple[dt.date, ...] = ()  # the working days the list covers (one box each)

    @property
    def day_boxes(self) -> list[tuple[str, str]]:
        """(value, label) per day: ``("2027-03-01", "man 1/3")``."""
        return [
            (d.isoformat(), f"{WEEKDAYS_DA[d.weekday()][:3]} {d.day}/{d.month}") for d in self.days
        ]


@dataclass
class TaskForm:
    """Everything the template needs to draw the form of one step."""

    form: str  # task / meeting / outcome / measurement / absence / session
    outcomes: list[Choice] = field(default_factory=list)
    attendees: list[Choice] = field(default_factory=list)
    numbers: list[NumberField] = field(default_factory=list)
    absence_rows: list[AbsenceRow] = field(default_factory=list)
    consent_missing: bool = False  # health dimensions left out: no consent on file
    nothing_to_record: bool = False  # every dimension needs a consent that is missing
    note: bool = True


def is_absence_list(step: StepInstanceRow) -> bool:
    """A weekly absence list (fraværsskema): a step of kind ``attendance``."""
    return step.kind == "attendance"


def build_form(
    session: Session,
    d: Definition,
    step: StepInstanceRow,
    enrollment: EnrollmentRow,
    *,
    today: dt.date,
    ref_of: Any,
    calendars: CalendarProvider | None = None,
) -> TaskForm:
    spec = d.step(step.step_id)
    names = {r.id: r.name for r in d.roles}
    outcomes = [Choice(o.id, o.name, o.description) for o in spec.outcomes_list]
    if isinstance(spec, MeasurementStep):
        consent = has_health_consent(session, enrollment.citizen_id)
        numbers = [
            NumberField(
                dim.id, dim.name, dim.scale.min, dim.scale.max, dim.unit, scale_points(dim.scale)
            )
            for dim in spec.dimensions
            if consent or not dim.health
        ]
        missing = not consent and any(dim.health for dim in spec.dimensions)
        return TaskForm(
            "measurement",
            numbers=numbers,
            consent_missing=missing,
            nothing_to_record=missing and not numbers,
            note=False,  # the engine records dimensions only
        )
    if step.kind == "session":
        return TaskForm("session")
    if outcomes:
        return TaskForm("outcome", outcomes=outcomes, attendees=_attendees(step, spec, names))
    if step.kind == "meeting":
        return TaskForm("meeting", attendees=_attendees(step, spec, names))
    if is_absence_list(step):
        cals = calendars or calendars_from(paths.calendars_dir())  # the shipped calendars
        return TaskForm("absence", absence_rows=absence_rows(session, step, today, ref_of, cals))
    return TaskForm("task")


#: A labelled scale with at most this many points is drawn as radio buttons.
MAX_RADIO_POINTS = 11


def scale_points(scale: Any) -> tuple[Choice, ...]:
    """Every point of a small whole-number scale with words (``1 – ingen``, ``2``, …,
    ``10 – stærke``), so each value can be chosen; ``()`` for a number input."""
    labels = scale.labels or {}
    low, high = scale.min, scale.max
    whole = float(low).is_integer() and float(high).is_integer()
    if not labels or not whole or high - low + 1 > MAX_RADIO_POINTS:
        return ()
    points = [str(n) for n in range(int(low), int(high) + 1)]
    return tuple(Choice(p, f"{p} – {labels[p]}" if p in labels else p) for p in points)


def _attendees(step: StepInstanceRow, spec: Any, names: Mapping[str, str]) -> list[Choice]:
    """Who could have attended: only for a meeting (or an evaluation held as one)."""
    if step.kind != "meeting" and not step.attendee_roles:
        return []
    roles = list(dict.fromkeys([step.assignee_role, *step.attendee_roles]))
    found = [Choice(r, names.get(r, r)) for r in roles]
    if getattr(spec, "citizen_attends", False):
        found.append(Choice(CITIZEN, "Borgeren"))
    return found


def absence_rows(
    session: Session,
    step: StepInstanceRow,
    today: dt.date,
    ref_of: Any,
    calendars: CalendarProvider,
) -> list[AbsenceRow]:
    """This step and every other open absence task of the same step whose day has come, in active
    enrollments of the same intervention: one row per participant."""
    own = session.get(EnrollmentRow, step.enrollment_id)
    assert own is not None
    found = session.exec(
        select(StepInstanceRow, CitizenRow.ref, col(EnrollmentRow.start))
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
        .where(
            EnrollmentRow.definition_id == own.definition_id,
            EnrollmentRow.status == "active",
            StepInstanceRow.step_id == step.step_id,
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),  # planned: no tick yet
            col(StepInstanceRow.due_date) <= today,
        )
        .order_by(col(StepInstanceRow.enrollment_id), col(StepInstanceRow.due_date))
    ).all()
    rows: dict[int, AbsenceRow] = {}
    calendar = calendars(own.municipality)  # one intervention: one municipality

    def row(s: StepInstanceRow, citizen_ref: str, start: dt.date) -> AbsenceRow:
        days = tuple(list_days(calendar, s.due_date, start))
        return AbsenceRow(s.id or 0, ref_of(s.enrollment_id), citizen_ref, s.due_date, days)

    for s, citizen_ref, start in [*found]:
        rows.setdefault(s.enrollment_id, row(s, citizen_ref, start))
    if step.enrollment_id not in rows:  # the link's own step, even before its day
        citizen = session.get(CitizenRow, own.citizen_id)
        rows[step.enrollment_id] = row(step, citizen.ref if citizen else "", own.start)
    return sorted(rows.values(), key=lambda r: r.ref)


@dataclass
class Submission:
    outcome: str | None
    data: dict[str, Any]
    others: dict[int, dict[str, Any]] = field(default_factory=dict)  # absence list rows


def parse_form(form: TaskForm, posted: Mapping[str, Any], *, own_step_id: int) -> Submission:
    """The posted fields as (outcome, data); :class:`InvalidInput` for a wrong form."""
    note = _note(posted) if form.note else None
    data: dict[str, Any] = {}
    outcome: str | None = None
    if form.form == "measurement":
        if form.nothing_to_record:
            raise InvalidInput("intet kan registreres uden samtykke")
        for f in form.numbers:
            raw = str(posted.get(f.name, "")).strip().replace(",", ".")
            if raw == "":
                raise InvalidInput(f"'{f.label}' mangler en værdi")
            try:
                value = float(raw)
            except ValueError:
                raise InvalidInput(f"'{f.label}' skal være et tal") from None
            if not f.min <= value <= f.max:
                raise InvalidInput(f"'{f.label}' skal ligge mellem {f.min:g} og {f.max:g}")
            data[f.name] = value
        return Submission(None, data)
    if form.form == "outcome":
        outcome = str(posted.get("outcome", ""))
        if outcome not in {c.value for c in form.outcomes}:
            raise InvalidInput("vælg et resultat")
    if form.form in ("outcome", "meeting"):
        allowed = {c.value for c in form.attendees}
        data["attended"] = [v for v in _getlist(posted, "attended") if v in allowed]
    if form.form == "session":
        data["present"] = "no" if posted.get("present") == "no" else "yes"
    others: dict[int, dict[str, Any]] = {}
    if form.form == "absence":
        for row in form.absence_rows:
            entry: dict[str, Any] = _absent_days(
                row, _getlist(posted, f"absent_{row.step_instance_id}")
            )
            reason = _note(posted, f"reason_{row.step_instance_id}")
            if reason:
                entry["reason"] = reason
            if row.step_instance_id == own_step_id:
                data.update(entry)
            else:
                others[row.step_instance_id] = entry
    if note:
        data["note"] = note
    return Submission(outcome, data, others)


def _absent_days(row: AbsenceRow, ticked: list[str]) -> dict[str, Any]:
    """The days ticked for one participant (ISO dates), or a number: none or every day."""
    days = {day.isoformat() for day in row.days}
    values = [v.strip() for v in ticked if v.strip()]
    if len(values) == 1 and values[0].isdigit():
        n = int(values[0])
        if n not in (0, len(days)):
            raise InvalidInput(f"vælg de dage, {row.ref} var fraværende")
        values = sorted(days) if n else []
    unknown = [v for v in values if v not in days]
    if unknown:
        raise InvalidInput(f"{unknown[0]} er ikke en dag på fraværslisten for {row.ref}")
    absent = sorted(set(values))
    return {"absent_days": len(absent), "absent_on": absent}


def _note(posted: Mapping[str, Any], name: str = "note") -> str | None:
    text = str(posted.get(name, "") or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"noten må højst være {MAX_NOTE} tegn")
    return text or None


def _getlist(posted: Mapping[str, Any], name: str) -> list[str]:
    getter = getattr(posted, "getlist", None)
    if getter is not None:
        return [str(v) for v in getter(name)]
    value = posted.get(name)
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def recorded_lines(
    form: TaskForm, outcome: str | None, data: Mapping[str, Any], *, others: int = 0
) -> list[str]:
    """What a completion recorded, in words for the receipt."""
    lines: list[str] = []
    if outcome is not None:
        name = next((c.label for c in form.outcomes if c.value == outcome), outcome)
        lines.append(f"Resultat: {name}")
    if "attended" in data:
        names = {c.value: c.label for c in form.attendees}
        who = [names.get(a, a) for a in data["attended"]]
        lines.append("Deltog: " + (", ".join(who) if who else "ingen markeret"))
    for f in form.numbers:
        if f.name in data:
            unit = f" {f.unit}" if f.unit else ""
            lines.append(f"{f.label}: {data[f.name]:g}{unit}")
    if "absent_days" in data:
        days = [dt.date.fromisoformat(d) for d in data.get("absent_on", [])]
        named = ", ".join(f"{WEEKDAYS_DA[d.weekday()]} {d.day}/{d.month}" for d in days)
        lines.append(f"Fraværsdage: {data['absent_days']}" + (f" ({named})" if named else ""))
    if others:
        lines.append(f"Fravær for {others} andre deltagere på samme liste")
    if "present" in data:
        lines.append("Fremmøde: " + ("ja" if data["present"] == "yes" else "nej"))
    if data.get("note"):
        lines.append("En note er gemt ved opgaven")
    if not lines:
        lines.append("Opgaven er markeret som udført")
    return lines
