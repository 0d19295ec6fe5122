"""The planner: definition + start + calendar (+ overrides, + chosen outcomes) → Plan.

A pure, deterministic function: no wall clock, no I/O. The engine calls it again
whenever something happens (a completion, an outcome, a pause) and compares plans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition.loader import content_hash
from iba_workflow.definition.model import Bound, Definition, Offset, When
from iba_workflow.errors import PlanError

from .outcomes import OutcomeRules
from .plan import ChosenOutcome, OpenBranch, Period, Plan, PlannedStep, Skipped
from .series import RecurringSeries
from .step_facts import StepFacts
from .template import StepTemplate, calendar_memo, describe_offset, make_step, template

__all__ = ["PlanOverrides", "describe_offset", "plan_enrollment"]

MIDNIGHT = dt.time(0)
MEMO_LIMIT = 100_000  # deadlines kept per calendar


@dataclass(frozen=True)
class PlanOverrides:
    """Per-enrollment facts that change dates: an individual week schedule, moved or
    completed steps, the chosen length of a 9–12 week course."""

    duration_weeks: int | None = None
    weekdays: Mapping[str, Sequence[str]] = field(default_factory=dict)  # step id → weekdays
    dates: Mapping[str, dt.date] = field(default_factory=dict)  # step key → fixed date
    completions: Mapping[str, dt.date] = field(default_factory=dict)  # step key → done on


NO_OVERRIDES = PlanOverrides()  # frozen, and nobody changes its empty mappings


def plan_enrollment(
    definition: Definition,
    *,
    calendar: WorkingCalendar,
    start: dt.date | None = None,
    cohort: str | None = None,
    visitation: dt.date | None = None,
    overrides: PlanOverrides | None = None,
    outcomes: Sequence[ChosenOutcome] = (),
) -> Plan:
    """Plan one enrollment. Raises :class:`PlanError` on inputs that cannot be planned."""
    return _Planner(definition, calendar, overrides or NO_OVERRIDES).run(
        start=start, cohort=cohort, visitation=visitation, outcomes=outcomes
    )


class _Planner(RecurringSeries, OutcomeRules):
    def __init__(self, d: Definition, cal: WorkingCalendar, ov: PlanOverrides) -> None:
        self.d = d
        self.cal = cal
        self.ov = ov
        self.t = template(d)  # the definition compiled once: per-step facts, texts, order
        self.memo = calendar_memo(cal)
        self.order = self.t.order
        self.steps: dict[str, PlannedStep] = {}
        self.skipped: list[Skipped] = []
        self.periods: list[Period] = []
        self.cohort_dates: Mapping[str, dt.date] = {}
        self.first_period: dict[str, int] = {}
        self.stopped: set[str] = set()
        self.empty: list[str] = []
        self.branches: set[tuple[str, str]] = set()  # (step id, outcome) chosen so far
        self.group = f"{d.id}/{d.municipality}/rolling"  # issue 12: the group of per_group steps
        self.own_days: list[str] = []  # issue 12: own-days steps waiting for her days

    # ------------------------------------------------------------------ entry

    def run(
        self,
        *,
        start: dt.date | None,
        cohort: str | None,
        visitation: dt.date | None,
        outcomes: Sequence[ChosenOutcome],
    ) -> Plan:
        d = self.d
        if cohort is not None:
            if d.intake.kind != "cohort":
                raise PlanError(
                    f"'{d.id}' has rolling intake, so it has no cohorts",
                    hint="plan it with --start DATE",
                )
            found = [c for c in d.intake.cohorts if c.id == cohort]
            if not found:
                known = ", ".join(c.id for c in d.intake.cohorts) or "(none)"
                raise PlanError(f"'{d.id}' has no cohort '{cohort}'", hint=f"cohorts: {known}")
            start = found[0].start
            self.cohort_dates = found[0].dates
            self.group = f"{d.id}/{d.municipality}/{cohort}"
        if start is None:
            raise PlanError(
                "a plan needs a start date or a cohort",
                hint="give --start YYYY-MM-DD or --cohort ID",
            )
        first = self._working(start, "next")
        weeks = self._weeks()
        self.periods.append(self._period(1, first, weeks, None))
        lead = d.intake.lead
        self.visitation = visitation or self._working(
            self._move(first, lead.unit, -lead.amount), "previous"
        )
        if self.visitation > first:
            raise PlanError(
                "the visitation is after the start",
                hint="the visitation must come first: give 'intake.lead' a positive time "
                "before the start, e.g. '{weeks: 2}'",
                visitation=self.visitation,
                where=("intake", "lead"),
            )

        for sid in self.t.roots:
            self._place(sid, 1, None)

        chosen, ended = self._apply_outcomes(outcomes)
        return self._finish(chosen, ended, cohort)

    # ------------------------------------------------------------------ periods

    def _weeks(self) -> int:
        dur = self.d.duration
        weeks = self.ov.duration_weeks or dur.default
        if not dur.shortest <= weeks <= dur.longest:
            raise PlanError(
                f"{weeks} weeks is outside the course's {dur.shortest}–{dur.longest} weeks",
                hint=f"choose between {dur.shortest} and {dur.longest}",
            )
        return weeks

    def _period(self, number: int, start: dt.date, weeks: int, reason: str | None) -> Period:
        last = start + dt.timedelta(days=7 * weeks - 1)
        end = self._working(last, "previous")
        mid = self._working(start + (end - start) / 2, "nearest")
        mid = min(max(mid, start), end)
        return Period(number, start, mid, end, weeks, reason)

    # ------------------------------------------------------------------ dates

    def _working(self, day: dt.date, policy: str) -> dt.date:
        moved = self.cal.shift(day, policy)  # type: ignore[arg-type]
        return moved.date if moved else day

    def _offset(self, base: dt.date, off: Offset) -> dt.date:
        return self._move(base, off.unit, off.amount)

    def _move(self, base: dt.date, unit: str, amount: int) -> dt.date:
        if unit == "working_days":
            return self.cal.add_working_days(base, amount)
        days = amount * (7 if unit == "weeks" else 1)
        return base + dt.timedelta(days=days)

    def _key(self, sid: str, period: int) -> str:
        """Instance key: the step id, with ``@period`` when the step is planned again in an
        extension period (a step that first appears in a branch keeps its plain id)."""
        first = self.first_period.get(sid)
        return sid if first is None or first == period else f"{sid}@{period}"

    def _claim(self, sid: str, period: int) -> str:
        self.first_period.setdefault(sid, period)
        return self._key(sid, period)

    def _resolve_ref(self, sid: str, period: int) -> PlannedStep | None:
        """The instance of step ``sid`` that a step in ``period`` refers to."""
        for p in range(period, 0, -1):
            found = self.steps.get(self._key(sid, p))
            if found is not None:
                return found
        return None

    def _anchor_date(self, when: When | Bound, period: int, who: str) -> dt.date:
        per = self.periods[period - 1]
        if when.anchor == "visitation":
            return self.visitation
        if when.anchor in ("start", "midway", "end"):
            return getattr(per, when.anchor)
        kind, ref = when.anchor.split(".", 1)
        target = self._resolve_ref(ref, period)
        if target is None:
            raise PlanError(
                f"'{who}' is anchored to '{ref}', which is not in the plan",
                hint="anchor to a step on the same branch",
                step=who,
            )
        if kind == "completion":
            return self.ov.completions.get(target.key, target.date)
        return target.date

    # ------------------------------------------------------------------ placing

    def _place(self, sid: str, period: int, branch: tuple[str, str] | None) -> None:
        t = self.t.steps[sid]
        step = t.step
        if step.repeat is not None:
            self._place_recurring(t, period, branch)
            return
        assert step.when is not None
        key = self._claim(sid, period)
        anchor_text = t.anchor
        fixed = self.ov.dates.get(key)
        if fixed is None and period == 1 and sid in self.cohort_dates:
            fixed = self.cohort_dates[sid]
            anchor_text = "fast dato for holdet"
        if fixed is not None:
            raw = fixed
            anchor_text = anchor_text if key not in self.ov.dates else "flyttet"
        else:
            raw = self._move(self._anchor_date(step.when, period, sid), *t.offsets[0])
        moved = self.cal.shift(raw, step.when.shift)
        date = moved.date if moved else raw
        reason = moved.reason if moved else None
        deps = self._deps(t, period)
        for dep in deps:
            dep_date = self.steps[dep].date
            if dep_date > date:
                reason = f"venter på {self.steps[dep].name}"
                date = dep_date
        self._add(
            t, key, date, period, branch, anchor_text, raw if date != raw else None, reason, deps
        )

    def _deps(self, t: StepTemplate, period: int) -> tuple[str, ...]:
        keys: list[str] = []
        for ref in t.refs:
            target = self._resolve_ref(ref, period)
            if target is not None and target.key not in keys:
                keys.append(target.key)
        return tuple(keys)

    def _add(
        self,
        t: StepTemplate,
        key: str,
        date: dt.date,
        period: int,
        branch: tuple[str, str] | None,
        anchor: str,
        shifted_from: dt.date | None,
        reason: str | None,
        deps: tuple[str, ...],
        occurrence: int | None = None,
    ) -> None:
        reminders, escalation = self._deadlines(t.facts, date) if t.deadlines else ((), None)
        self.steps[key] = make_step(
            t.proto,
            {
                "key": key,
                "date": date,
                "period": period,
                "anchor": anchor,
                "time": t.time,
                "occurrence": occurrence,
                "shifted_from": shifted_from,
                "shift_reason": reason,
                "depends_on": deps,
                "branch": branch,
                "reminders": reminders,
                "escalation": escalation,
                "group": self._group(t.facts, date),
            },
        )

    def _group(self, f: StepFacts, date: dt.date) -> str | None:
        """A per_group step's occurrence key, the same for every member (issue 12)."""
        return f"{self.group}/{f.step_id}/{date.isoformat()}" if f.per_group else None

    def _deadlines(
        self, f: StepFacts, date: dt.date
    ) -> tuple[tuple[dt.date, ...], tuple[dt.date, str] | None]:
        """The reminders and the escalation of a task due on ``date``; remembered per
        calendar, as they depend on the date and the calendar only."""
        key = (f.reminders_before, f.escalation, date)
        found = self.memo.get(key)
        if found is not None:
            return found
        # A reminder goes out on a working day: one that falls on a closed day moves
        # back to the working day before.
        reminders = tuple(
            sorted(
                {
                    self._working(self._move(date, unit, amount), "previous")
                    for unit, amount in f.reminders_before
                }
            )
        )
        escalation = None
        if f.escalation is not None:
            unit, amount, to = f.escalation
            escalation = (self._working(self._move(date, unit, amount), "next"), to)
        if len(self.memo) < MEMO_LIMIT:
            self.memo[key] = (reminders, escalation)
        return reminders, escalation

    # ------------------------------------------------------------------ result

    def _finish(
        self, chosen: list[ChosenOutcome], ended: ChosenOutcome | None, cohort: str | None
    ) -> Plan:
        decided = {c.step_key for c in chosen}
        open_: list[OpenBranch] = []
        rank = self.t.rank
        ordered = sorted(
            self.steps.values(),
            key=lambda s: (
                s.date,
                s.time or MIDNIGHT,
                rank[s.step_id],
                s.occurrence or 0,
                s.key,
            ),
        )
        if ended is None:
            for s in ordered:
                if s.outcomes and s.key not in decided:
                    step = self.d.step(s.step_id)
                    for o in step.outcomes_list:
                        open_.append(OpenBranch(s.key, o.id, o.name, self._effect(o, s.step_id)))
        # The course ends with its last period, or on the day an ending outcome is decided
        # (which may come after the course, e.g. a follow-up on VUC weeks later).
        end = max(p.end for p in self.periods)
        if ended is not None:
            end = self.steps[ended.step_key].date
        return Plan(
            definition_id=self.d.id,
            definition_version=self.d.version,
            content_hash=content_hash(self.d),
            municipality=self.d.municipality,
            visitation=self.visitation,
            start=self.periods[0].start,
            end=end,
            periods=tuple(self.periods),
            steps=tuple(ordered),  # PlannedStep is frozen: no copies needed
            open_branches=tuple(open_),
            chosen=tuple(chosen),
            skipped=tuple(sorted(self.skipped, key=lambda k: (k.date, k.step_key))),
            ended_by=ended,
            cohort=cohort,
            empty_repeats=tuple(self.empty),
            own_days=tuple(self.own_days),
            assumptions=self.t.assumptions,
        )
