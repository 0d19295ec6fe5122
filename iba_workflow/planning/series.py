"""The planner's recurring steps: a weekly series from its start to its end on the
participant's weekdays (her own days, or the definition's moved around them: issue 12),
its closed days skipped or moved, each occurrence with its reminders and escalation.

A series depends on its inputs only, so it is made once per calendar and shared, frozen,
by every plan that has it (the same enrollment planned again, the members of a cohort).
A mixin of the planner (:class:`~iba_workflow.planning.planner._Planner`): it works on the
planner's state, which it names below for the type checker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition.model import Bound, Definition, When

from .plan import Period, PlannedStep, Skipped
from .recurrence import weekly_dates
from .step_facts import StepFacts
from .template import DefinitionTemplate, StepTemplate

if TYPE_CHECKING:
    from .planner import PlanOverrides

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
#: recurring series kept per calendar: the 10,000 plans of bench_planning.py have 821
#: (9,005 steps, 10 MB); at the limit some 60 MB
SERIES_LIMIT = 5_000
SERIES = "series"  # a calendar memo's key for its recurring series


class RecurringSeries:
    """Places recurring steps (see the module's docstring)."""

    d: Definition
    t: DefinitionTemplate
    cal: WorkingCalendar
    ov: PlanOverrides
    memo: dict[Any, Any]
    group: str
    steps: dict[str, PlannedStep]
    skipped: list[Skipped]
    periods: list[Period]
    empty: list[str]
    own_days: list[str]

    if TYPE_CHECKING:  # the planner's own methods

        def _move(self, base: dt.date, unit: str, amount: int) -> dt.date: ...

        def _anchor_date(self, when: When | Bound, period: int, who: str) -> dt.date: ...

        def _claim(self, sid: str, period: int) -> str: ...

        def _group(self, f: StepFacts, date: dt.date) -> str | None: ...

        def _deadlines(
            self, f: StepFacts, date: dt.date
        ) -> tuple[tuple[dt.date, ...], tuple[dt.date, str] | None]: ...

    def _place_recurring(
        self, t: StepTemplate, period: int, branch: tuple[str, str] | None
    ) -> None:
        sid = t.facts.step_id
        rep = t.step.repeat
        assert rep is not None
        first = self._move(self._anchor_date(rep.start, period, sid), *t.offsets[0])
        if period > 1:
            # Planned again in an extension: never back in an earlier period, even when
            # its start is anchored to a step (or completion) of that period.
            first = max(first, self.periods[period - 1].start)
        last = (
            self._move(self._anchor_date(rep.until, period, sid), *t.offsets[1])
            if rep.until is not None
            else None
        )
        base_key = self._claim(sid, period)
        weekdays = tuple(self._weekdays(sid))
        if not weekdays:  # her own days (own_days), not entered yet
            self.own_days.append(base_key)
            return
        # Every input of the series is in the key (the template's steps are fixed, the
        # calendar is the memo's own), so equal keys give equal series: the instances are
        # frozen and shared by the plans that have them, e.g. the same enrollment planned
        # again after each completion, or the members of a cohort.
        group = self.group if t.facts.per_group else None
        memo_key = (self.t.serial, sid, period, branch, base_key, weekdays, first, last, group)
        known = self.memo.get(SERIES)
        if known is None:
            known = self.memo[SERIES] = {}
        series = known.get(memo_key)
        if series is None:
            series = self._series(t, period, branch, base_key, weekdays, first, last)
            if len(known) < SERIES_LIMIT:
                known[memo_key] = series
        steps, skipped = series
        self.steps.update(steps)
        self.skipped.extend(skipped)
        if not steps and not skipped:
            self.empty.append(base_key)

    def _series(
        self,
        t: StepTemplate,
        period: int,
        branch: tuple[str, str] | None,
        base_key: str,
        weekdays: tuple[str, ...],
        first: dt.date,
        last: dt.date | None,
    ) -> tuple[dict[str, PlannedStep], tuple[Skipped, ...]]:
        """The instances of a recurring step (by key) and its skipped days."""
        rep = t.step.repeat
        assert rep is not None
        held, skipped = weekly_dates(
            first,
            last,
            weekdays,
            rep.every_weeks,
            rep.count,
            rep.on_closed_day,
            self.cal,
            # a rolling group's rhythm is the calendar's, not each member's start
            aligned=t.step.held == "per_group" and self.d.intake.kind == "rolling",
        )
        # The instances differ in key, date and number only: the rest is set once, and
        # each is made as make_step makes one (inline: this loop makes most of a plan).
        proto = {**t.proto, "period": period, "anchor": t.anchor, "time": t.time}
        proto["branch"] = branch
        steps: dict[str, PlannedStep] = {}
        deadlines, facts = t.deadlines, t.facts
        new, cls = object.__new__, PlannedStep
        for n, (date, day, reason) in enumerate(held, 1):
            key = f"{base_key}#{n}"
            step = new(cls)
            values = step.__dict__
            values.update(proto)
            values["key"] = key
            values["date"] = date
            values["occurrence"] = n
            if reason is not None:  # moved off a closed day (else it is held on its day)
                values["shifted_from"] = day if date != day else None
                values["shift_reason"] = reason
            if deadlines:
                values["reminders"], values["escalation"] = self._deadlines(facts, date)
            if facts.per_group:  # one occurrence for the whole group (issue 12)
                values["group"] = self._group(facts, date)
            steps[key] = step
        return steps, tuple(Skipped(base_key, k.date, k.reason, facts.name) for k in skipped)

    def _weekdays(self, sid: str) -> Sequence[str]:
        """The weekdays of a recurring step for this participant: her own days
        (``own_days``, from the overrides), or the definition's, moved off her own days
        (``around_own_days``) onto a free weekday of the same week."""
        step = self.d.step(sid)
        assert step.repeat is not None
        days = self.ov.weekdays.get(sid, step.repeat.weekdays)
        if not step.around_own_days:
            return days
        hers = {w for o in self.d.steps if o.own_days for w in self.ov.weekdays.get(o.id, ())}
        kept = [w for w in days if w not in hers]
        free = [w for w in WORKDAYS if w not in hers and w not in days]
        return kept + free[: len(days) - len(kept)]
