"""The every-path validator: plan a definition through every combination of outcomes.

A definition can load cleanly and still plan wrongly on a path nobody tried: an outcome
whose branch anchors to a step that is not there, a recurrence that restarts in the
first period, a path that never ends, a meeting on top of teaching. This module walks
every path from several start dates (across Easter, Christmas/New Year and the summer
holidays, every cohort, every length of a ranged course), and again with a pause (sick
leave) of one and of two weeks before the midway meeting and in the last week, applied as
the engine applies it. It reports each finding once, with the step it concerns and the
first path that shows it.

Paths are pruned where they meet: two choice sequences that lead to the same plan (same
dated steps, same open branches, same remembered stops and branches) continue the same
way, so the second is not walked again.

Pure: definitions and calendars in, findings out. No wall clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition.model import Definition, Duration
from iba_workflow.errors import PlanError

from .path_checks import Finding, pause_findings, plan_findings
from .pauses import before_pauses, paused_plan
from .plan import ChosenOutcome, Plan
from .planner import PlanOverrides, plan_enrollment

# Starts that cross the closed days a plan must survive (rolling intake, or a moved start).
STANDARD_STARTS: tuple[tuple[str, dt.date], ...] = (
    ("påske", dt.date(2027, 3, 1)),  # Easter Sunday 2027 is 28 March
    ("jul/nytår", dt.date(2026, 12, 7)),
    ("sommerferie", dt.date(2027, 6, 14)),
)
# Pauses a coordinator registers (iba replan --pause): (where, weeks). "midtvejs" starts the
# Monday of the week before the midway meeting, "sidste uge" the Monday of the last week.
STANDARD_PAUSES: tuple[tuple[str, int], ...] = (
    ("før midtvejs", 1),
    ("før midtvejs", 2),
    ("sidste uge", 1),
    ("sidste uge", 2),
)
MAX_PLANS = 20_000  # a definition with more distinct states than this is reported, not walked


@dataclass
class Exploration:
    findings: list[tuple[Finding, str]] = field(default_factory=list)  # finding, first path
    plans: int = 0  # planner calls
    paths: int = 0  # complete paths (choice sequences), pruned ones included
    pruned: int = 0  # states met again and not walked twice
    starts: int = 0
    pauses: int = 0  # walks with a pause (one per start and pause)

    def add(self, finding: Finding, path: str) -> None:
        if all(f != finding for f, _ in self.findings):
            self.findings.append((finding, path))


@dataclass(frozen=True)
class _Start:
    label: str
    start: dt.date | None
    cohort: str | None
    weeks: int | None
    extended_to: int | None = None  # a manual extension of the first period (engine)


def explore_definition(
    d: Definition,
    calendar: WorkingCalendar,
    *,
    starts: Sequence[tuple[str, dt.date]] = STANDARD_STARTS,
    pauses: Sequence[tuple[str, int]] = STANDARD_PAUSES,
) -> Exploration:
    """Walk every path of ``d`` from every start in ``starts`` (and every cohort), then
    again with each pause in ``pauses``."""
    result = Exploration()
    for begin in _starts(d, starts):
        result.starts += 1
        variant = d
        if begin.extended_to is not None:  # as the engine's manual extension makes it
            limit = d.duration.extendable_to_weeks
            variant = d.model_copy(
                update={"duration": Duration(weeks=begin.extended_to, extendable_to_weeks=limit)}
            )
        walker = _Walker(variant, calendar, begin, result)
        walker.walk(())  # counts its paths into result
        try:
            first = walker.plan(())
        except PlanError:
            continue  # reported by the walk
        for where, weeks in pauses:
            window = pause_window(first, where, weeks)
            result.pauses += 1
            paused = _Walker(variant, calendar, begin, result, pause=(where, window))
            paused.unpaused = walker.unpaused  # the same paths without the pause, shared
            paused.walk(())
    return result


def pause_window(plan: Plan, where: str, weeks: int) -> tuple[dt.date, dt.date]:
    """Monday to Sunday, ``weeks`` long: the week before the midway meeting, or the last
    week of the first period."""
    day = plan.periods[0].midway - dt.timedelta(days=7) if where == "før midtvejs" else None
    if day is None:
        day = plan.periods[0].end
    monday = max(day - dt.timedelta(days=day.weekday()), plan.start)
    return monday, monday + dt.timedelta(days=7 * weeks - 1)


def _starts(d: Definition, starts: Sequence[tuple[str, dt.date]]) -> Iterable[_Start]:
    dur = d.duration
    lengths: list[int | None] = (
        [None] if dur.weeks is not None else list(range(dur.shortest, dur.longest + 1))
    )
    for weeks in lengths:
        suffix = f", {weeks} uger" if weeks is not None else ""
        if d.intake.kind == "cohort":
            for c in d.intake.cohorts:
                yield _Start(f"hold {c.id}{suffix}", None, c.id, weeks)
        for label, day in starts:
            yield _Start(f"start {day} ({label}){suffix}", day, None, weeks)
    # The longest manual extension the coordinator can make (iba replan --extend-weeks).
    limit = dur.extendable_to_weeks
    if limit is not None and limit > dur.longest and starts:
        label, day = starts[0]
        yield _Start(
            f"start {day} ({label}), forlænget manuelt til {limit} uger", day, None, None, limit
        )


Done = tuple[tuple[str, dt.date], ...]  # decisions completed during a pause walk


class _Walker:
    def __init__(
        self,
        d: Definition,
        calendar: WorkingCalendar,
        begin: _Start,
        result: Exploration,
        *,
        pause: tuple[str, tuple[dt.date, dt.date]] | None = None,
    ) -> None:
        self.d = d
        self.cal = calendar
        self.begin = begin
        self.result = result
        self.pause = pause
        self.unpaused: dict[tuple[ChosenOutcome, ...], Plan] = {}  # plan per path, no pause
        self.seen: dict[object, int] = {}  # state → complete paths that follow from it
        self.ending = any(o.ends for s in d.steps for o in s.outcomes_list)
        # Only branches some step waits for change what later outcomes do.
        self.relevant = {(s.only_after.step, s.only_after.outcome) for s in d.steps if s.only_after}

    def label(self, chosen: Sequence[ChosenOutcome]) -> str:
        text = self.begin.label
        if self.pause is not None:
            where, (first, last) = self.pause
            text += f", pause {first}..{last} ({where})"
        if chosen:
            text += ": " + " → ".join(f"{c.step_key}={c.outcome}" for c in chosen)
        return text

    def plan(self, chosen: Sequence[ChosenOutcome], done: Done = ()) -> Plan:
        self.result.plans += 1
        return plan_enrollment(
            self.d,
            calendar=self.cal,
            start=self.begin.start,
            cohort=self.begin.cohort,
            overrides=PlanOverrides(duration_weeks=self.begin.weeks, completions=dict(done)),
            outcomes=chosen,
        )

    def paused(self, chosen: tuple[ChosenOutcome, ...], done: Done) -> Plan:
        """The plan as the engine holds it after the pause: the decisions on or after the
        pause completed on their moved days (their completion anchors what follows)."""
        assert self.pause is not None
        window = self.pause[1]
        real = dict(done)
        planned = self.plan(chosen, tuple(before_pauses(real, [window], self.cal).items()))
        held = paused_plan(planned, self.cal, real, window)
        unpaused = self.unpaused.get(chosen) or self.plan(chosen)
        self.unpaused[chosen] = unpaused
        for finding in pause_findings(unpaused, held, window):
            self.result.add(finding, self.label(chosen))
        return held

    def walk(self, chosen: tuple[ChosenOutcome, ...], done: Done = ()) -> int:
        """Walk every path from ``chosen`` on; the number of complete paths below it."""
        if self.result.plans >= MAX_PLANS:
            self.result.add(
                Finding(
                    f"more than {MAX_PLANS} distinct plans; not every path was walked",
                    "fewer outcomes, or outcomes that lead to the same plan, keep it checkable",
                    severity="warning",
                ),
                self.label(chosen),
            )
            return 0
        try:
            if self.pause is None:
                plan = self.unpaused[chosen] = self.plan(chosen)
            else:
                plan = self.paused(chosen, done)
        except PlanError as exc:
            self.result.add(_plan_error_finding(self.d, exc, chosen), self.label(chosen))
            self.result.paths += 1
            return 1
        for finding in plan_findings(self.d, plan):
            self.result.add(finding, self.label(chosen))
        state = (self.state(plan, chosen), frozenset(done))
        if state in self.seen:
            self.result.pruned += 1
            self.result.paths += self.seen[state]
            return self.seen[state]
        self.seen[state] = 0
        nxt = self.next_decision(plan)
        if nxt is None:
            self.result.paths += 1
            if plan.ended_by is None and self.ending:
                self.result.add(self.never_ends(plan), self.label(chosen))
            self.seen[state] = 1
            return 1
        key, step_id = nxt
        weeks = sum(p.weeks for p in plan.periods)
        limit = self.d.duration.extendable_to_weeks or 0
        below = 0
        for o in self.d.step(step_id).outcomes_list:
            if o.extend is not None and weeks + o.extend.weeks > limit:
                continue  # refused by the planner with a sentence; not a path
            now = (*done, (key, plan.get(key).date)) if self.pause else done
            below += self.walk((*chosen, ChosenOutcome(key, o.id)), now)
        self.seen[state] = below
        return below

    def next_decision(self, plan: Plan) -> tuple[str, str] | None:
        decided = {c.step_key for c in plan.chosen}
        for s in plan.steps:  # in date order
            if s.outcomes and s.key not in decided:
                return s.key, s.step_id
        return None

    def state(self, plan: Plan, chosen: Sequence[ChosenOutcome]) -> object:
        steps = tuple((s.key, s.date, s.time) for s in plan.steps)
        ids = {c.step_key: c for c in chosen}
        pairs = frozenset(
            (key.split("@")[0], c.outcome)
            for key, c in ids.items()
            if (key.split("@")[0], c.outcome) in self.relevant
        )
        stops = frozenset(
            sid
            for c in chosen
            for o in self.d.step(c.step_key.split("@")[0]).outcomes_list
            if o.id == c.outcome
            for sid in o.stops
        )
        decided = frozenset(ids)
        return (steps, decided, plan.ended_by is not None, pairs, stops, len(plan.periods))

    def never_ends(self, plan: Plan) -> Finding:
        last = plan.chosen[-1] if plan.chosen else None
        if last is None:
            return Finding(
                "no path without outcomes ends the course, but other outcomes do",
                "give the last evaluation an outcome with 'ends: true'",
            )
        step_id = last.step_key.split("@")[0]
        return Finding(
            f"the path ending with outcome '{last.outcome}' of '{step_id}' never ends: "
            "nothing after it closes the course, so the enrollment stays open",
            f"give outcome '{last.outcome}' 'ends: true' if nothing follows it, or let its "
            "branch end with an evaluation whose outcome has 'ends: true'",
            step_id=step_id,
            where=_outcome_field(plan_step_outcomes(self.d, step_id), last.outcome),
        )


def plan_step_outcomes(d: Definition, step_id: str) -> list[str]:
    return [o.id for o in d.step(step_id).outcomes_list]


def _outcome_field(outcomes: list[str], outcome: str) -> tuple[str | int, ...]:
    return ("outcomes", outcomes.index(outcome)) if outcome in outcomes else ("outcomes",)


def _plan_error_finding(d: Definition, exc: PlanError, chosen: Sequence[ChosenOutcome]) -> Finding:
    who = exc.context.get("step")
    top = exc.context.get("where")
    if isinstance(top, tuple):  # a top-level key of the definition, e.g. intake.lead
        return Finding(f"a path fails to plan: {exc.message}", exc.hint, where=top)
    step_id = who if isinstance(who, str) and _has(d, who) else None
    if step_id is None and chosen:
        step_id = chosen[-1].step_key.split("@")[0]
    return Finding(
        f"a path fails to plan: {exc.message}",
        exc.hint,
        step_id=step_id,
        where=("when",) if isinstance(who, str) else (),
    )


def _has(d: Definition, step_id: str) -> bool:
    return any(s.id == step_id for s in d.steps)
