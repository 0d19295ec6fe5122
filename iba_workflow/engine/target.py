"""What an enrollment's plan should be now, and how that differs from the record.

The planner is pure and knows nothing of the store. Here we gather the facts it needs
from the record (completions, chosen outcomes), add what the planner does not model
(pauses, manual extensions, early exit) and compare the result with the persisted step
instances. The comparison is the impact report that re-planning shows before it writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition import Definition
from iba_workflow.definition.model import Duration
from iba_workflow.errors import InvalidInput
from iba_workflow.planning import ChosenOutcome, Plan, PlannedStep, PlanOverrides, plan_enrollment
from iba_workflow.planning.pauses import apply_pauses, before_pauses
from iba_workflow.store.rows import completed_on, outcomes_of
from iba_workflow.store.tables import (
    DONE_STEP_STATUSES,
    OPEN_STEP_STATUSES,
    CohortRow,
    EnrollmentRow,
)


@dataclass(frozen=True)
class TargetStep:
    """A planned step with the dates the engine will persist (after pauses)."""

    step: PlannedStep
    date: dt.date
    reminders: tuple[dt.date, ...]
    escalation: tuple[dt.date, str] | None

    @property
    def key(self) -> str:
        return self.step.key


@dataclass(frozen=True)
class Facts:
    """What has happened to an enrollment, as the planner needs it."""

    completions: Mapping[str, dt.date]
    outcomes: Sequence[ChosenOutcome]


@dataclass(frozen=True)
class ImpactLine:
    key: str
    name: str
    change: str  # added / moved / cancelled
    old_date: dt.date | None = None
    new_date: dt.date | None = None
    old_time: dt.time | None = None
    new_time: dt.time | None = None

    def describe(self) -> str:
        old = self.old_date.isoformat() if self.old_date else "—"
        new = self.new_date.isoformat() if self.new_date else "—"
        return f"{self.key:<28} {self.change:<10} {old} → {new}"


def gather_facts(session: Session, enrollment_id: int) -> Facts:
    return Facts(
        completions={key: day for key, day in completed_on(session, enrollment_id)},
        outcomes=[ChosenOutcome(*o) for o in outcomes_of(session, enrollment_id)],
    )


def cohort_key(session: Session, enrollment: EnrollmentRow) -> str | None:
    if enrollment.cohort_id is None:
        return None
    row = session.get(CohortRow, enrollment.cohort_id)
    return row.cohort_key if row else None


def extended_definition(d: Definition, base_weeks: int, extra_weeks: int) -> Definition:
    """``d`` with the first period ``extra_weeks`` longer (a manual extension)."""
    if extra_weeks == 0:
        return d
    limit = d.duration.extendable_to_weeks
    total = base_weeks + extra_weeks
    if limit is None or total > limit:
        raise InvalidInput(
            f"extending by {extra_weeks} weeks makes {total} weeks; '{d.id}' may last at "
            f"most {limit or d.duration.longest} weeks",
            hint="extend by fewer weeks",
        )
    return d.model_copy(update={"duration": Duration(weeks=total, extendable_to_weeks=limit)})


def compute_target(
    d: Definition,
    enrollment: EnrollmentRow,
    calendar: WorkingCalendar,
    facts: Facts,
    *,
    cohort: str | None,
    adjustments: Sequence[Mapping[str, Any]] | None = None,
    own_weekdays: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Plan, dict[str, TargetStep]]:
    """The plan the record should hold for ``enrollment`` given ``facts``. ``own_weekdays``:
    her own days from her fixed commitments, over those given at the visitation."""
    adjustments = enrollment.adjustments if adjustments is None else adjustments
    moved = [_day(a["to"]) for a in adjustments if a["kind"] == "start"]
    start = moved[-1] if moved else None  # a moved start leaves the cohort's common start
    extra = sum(int(a["weeks"]) for a in adjustments if a["kind"] == "extend")
    pauses = [(_day(a["from"]), _day(a["to"])) for a in adjustments if a["kind"] == "pause"]
    base_weeks = enrollment.duration_weeks or d.duration.default
    definition = extended_definition(d, base_weeks, extra)
    plan = plan_enrollment(
        definition,
        calendar=calendar,
        start=start or enrollment.start,
        cohort=None if start is not None else cohort,
        visitation=min(enrollment.visitation_on, start or enrollment.start),
        overrides=PlanOverrides(
            duration_weeks=None if extra else enrollment.duration_weeks,
            weekdays={**enrollment.weekdays, **(own_weekdays or {})},
            completions=before_pauses(facts.completions, pauses, calendar),
        ),
        outcomes=facts.outcomes,
    )
    dates = {s.key: s.date for s in plan.steps}
    shifts = dict.fromkeys(dates, 0)
    group = {s.key for s in plan.steps if s.group}  # the group meets without her (issue 12)
    apply_pauses(facts.completions, pauses, calendar, dates, shifts, keep=group)
    exit_on = next((_day(a["on"]) for a in adjustments if a["kind"] == "exit"), None)
    target: dict[str, TargetStep] = {}
    for s in plan.steps:
        if exit_on is not None and dates[s.key] >= exit_on and s.key not in facts.completions:
            continue
        n = shifts[s.key]
        reminders = tuple(calendar.add_working_days(r, n) for r in s.reminders)
        esc = (
            (calendar.add_working_days(s.escalation[0], n), s.escalation[1])
            if s.escalation
            else None
        )
        target[s.key] = TargetStep(s, dates[s.key], reminders, esc)
    return plan, target


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def diff_instances(instances: Iterable[Any], target: Mapping[str, TargetStep]) -> list[ImpactLine]:
    """Per step: added, moved (date or time) or cancelled. Done steps are never touched.
    ``instances``: step rows, or anything with their key, name, status, due date and time
    (``lifecycle.instance_facts``)."""
    lines: list[ImpactLine] = []
    by_key = {row.key: row for row in instances}
    for key, t in target.items():
        row = by_key.get(key)
        if row is None or row.status == "cancelled":
            lines.append(
                ImpactLine(key, t.step.name, "added", new_date=t.date, new_time=t.step.time)
            )
        elif row.status in OPEN_STEP_STATUSES and (
            row.due_date != t.date or row.due_time != t.step.time
        ):
            lines.append(
                ImpactLine(
                    key, t.step.name, "moved", row.due_date, t.date, row.due_time, t.step.time
                )
            )
    for key, row in by_key.items():
        if key not in target and row.status not in DONE_STEP_STATUSES:
            lines.append(
                ImpactLine(key, row.name, "cancelled", row.due_date, None, row.due_time, None)
            )
    lines.sort(key=lambda line: (line.old_date or line.new_date or dt.date.min, line.key))
    return lines
