"""What must hold for every plan of a definition, whatever path it took.

Each check looks at one finished plan and says what is wrong with it, in a sentence with a
fix, on the step it concerns. :mod:`.explore` runs them on every path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from iba_workflow.calendar import WEEKDAYS_DA
from iba_workflow.definition.model import Definition

from .plan import Plan, PlannedStep

CITIZEN = "borgeren"


@dataclass(frozen=True)
class Finding:
    """One problem, on the step it concerns (``step_id`` None: the definition as a whole).
    ``where`` is a path inside the step (e.g. ``("repeat",)``) for a precise line;
    ``example`` (not part of equality) is one day it happens on."""

    message: str
    hint: str | None
    step_id: str | None = None
    where: tuple[str | int, ...] = ()
    severity: str = "error"
    example: str | None = field(default=None, compare=False)


def plan_findings(d: Definition, plan: Plan) -> list[Finding]:
    return [
        *_unchosen_branches(d, plan),
        *_outside_the_course(d, plan),
        *_empty_repeats(d, plan),
        *_double_bookings(d, plan),
        *_twice_on_a_day(plan),
    ]


def pause_findings(unpaused: Plan, paused: Plan, window: tuple[dt.date, dt.date]) -> list[Finding]:
    """What a pause must not do: drop a step the same path has without it, or leave one
    inside the pause (the citizen is ill)."""
    first, last = window
    weeks = (last - first).days // 7 + 1
    pause = f"a pause of {weeks} {'week' if weeks == 1 else 'weeks'}"
    out = []
    lost: dict[str, list[PlannedStep]] = defaultdict(list)
    for s in unpaused.steps:
        if s.key not in paused and s.date >= first:
            lost[s.step_id].append(s)
    for step_id, steps in lost.items():
        shown = ", ".join(f"{s.key} {_day(s.date)}" for s in steps[:3])
        out.append(
            Finding(
                f"{pause} drops '{step_id}' ({len(steps)} planned without it): a pause "
                "must move what follows it, not lose it",
                "anchor the step to its period ('start', 'end') rather than to a "
                "completion, or bound the repeat with 'count:'; this is a planner bug if "
                "the anchors are plain",
                step_id=step_id,
                where=("repeat",) if "#" in steps[0].key else ("when",),
                example=shown + (" …" if len(steps) > 3 else ""),
            )
        )
    for s in paused.steps:
        # a group's occurrence stays: the group meets without her (issue 12)
        if first <= s.date <= last and CITIZEN in _people(s) and not s.group:
            out.append(
                Finding(
                    f"'{s.step_id}' stays inside {pause}: the citizen is ill then",
                    "a pause moves every step that is not done; this is a planner bug",
                    step_id=s.step_id,
                    example=f"{s.key} {_day(s.date)}",
                )
            )
    return out


def _day(day: dt.date) -> str:
    return f"{WEEKDAYS_DA[day.weekday()]} {day.isoformat()}"


def _unchosen_branches(d: Definition, plan: Plan) -> list[Finding]:
    chosen = {(c.step_key.split("@")[0], c.outcome) for c in plan.chosen}
    out = []
    for s in plan.steps:
        cond = d.step(s.step_id).only_after
        if cond is not None and (cond.step, cond.outcome) not in chosen:
            out.append(
                Finding(
                    f"'{s.step_id}' is planned on a path where outcome '{cond.outcome}' of "
                    f"'{cond.step}' was not chosen",
                    "a step of a branch exists only after its outcome; this is a planner "
                    "bug if the definition says 'only_after'",
                    step_id=s.step_id,
                    where=("only_after",),
                    example=f"{s.key} {_day(s.date)}",
                )
            )
    return out


def _outside_the_course(d: Definition, plan: Plan) -> list[Finding]:
    last = plan.periods[-1].end
    out = []
    for s in plan.steps:
        step = d.step(s.step_id)
        if s.date < plan.visitation:
            out.append(
                Finding(
                    f"'{s.step_id}' falls before the visitation",
                    "nothing can happen before the citizen is visited; anchor it later",
                    step_id=s.step_id,
                    where=("when",) if step.when else ("repeat",),
                    example=f"{s.key} {_day(s.date)} (visitation {plan.visitation})",
                )
            )
        if s.date > last and not step.follow_up:
            out.append(
                Finding(
                    f"'{s.step_id}' falls after the end of the course",
                    "move it inside the course (e.g. anchor 'end' with a negative offset), "
                    "or mark it 'follow_up: true' if it is a follow-up after the course "
                    "(efterfølgende)",
                    step_id=s.step_id,
                    where=("when",) if step.when else ("repeat",),
                    example=f"{s.key} {_day(s.date)} (slut {last})",
                )
            )
    return out


def _empty_repeats(d: Definition, plan: Plan) -> list[Finding]:
    return [
        Finding(
            f"the repeat of '{key.split('@')[0]}' has no occurrence: its bounds leave no "
            "day on its weekdays",
            "widen 'start'/'until', or change 'weekdays'",
            step_id=key.split("@")[0],
            where=("repeat",),
        )
        for key in plan.empty_repeats
    ]


def _people(s: PlannedStep) -> set[str]:
    people = {s.assignee, *s.attendees}
    if s.citizen_attends or s.kind in ("session", "test"):
        people.add(CITIZEN)
    return people


def _span(s: PlannedStep) -> tuple[dt.datetime, dt.datetime]:
    assert s.time is not None
    begin = dt.datetime.combine(s.date, s.time)
    return begin, begin + dt.timedelta(minutes=s.duration_minutes or 0)


def _overlap(a: PlannedStep, b: PlannedStep) -> bool:
    a0, a1 = _span(a)
    b0, b1 = _span(b)
    if a0 == a1:
        return b0 <= a0 < b1 or a0 == b0
    if b0 == b1:
        return a0 <= b0 < a1
    return a0 < b1 and b0 < a1


def _clock(s: PlannedStep) -> str:
    begin, end = _span(s)
    text = begin.strftime("%H:%M")
    return text + (f"–{end.strftime('%H:%M')}" if end != begin else "")


def _double_bookings(d: Definition, plan: Plan) -> list[Finding]:
    order = {s.id: i for i, s in enumerate(d.steps)}
    by_day: dict[dt.date, list[PlannedStep]] = defaultdict(list)
    for s in plan.steps:
        if s.time is not None:
            by_day[s.date].append(s)
    out = []
    for day, steps in by_day.items():
        for i, a in enumerate(steps):
            for b in steps[i + 1 :]:
                if a.step_id == b.step_id or not _overlap(a, b):
                    continue
                shared = sorted(_people(a) & _people(b))
                if not shared:
                    continue
                first, second = sorted((a, b), key=lambda s: order[s.step_id])
                out.append(
                    Finding(
                        f"'{second.step_id}' ({_clock(second)}) overlaps "
                        f"'{first.step_id}' ({_clock(first)}) for {', '.join(shared)}: "
                        "the same person is booked twice",
                        "move one of them: another 'time:', other weekdays, or an offset "
                        "that lands on a free day",
                        step_id=second.step_id,
                        where=("when",) if d.step(second.step_id).when else ("repeat",),
                        example=_day(day),
                    )
                )
    return out


def _twice_on_a_day(plan: Plan) -> list[Finding]:
    seen: dict[tuple[str, dt.date], str] = {}
    out = []
    for s in plan.steps:
        other = seen.setdefault((s.step_id, s.date), s.key)
        if other != s.key:
            out.append(
                Finding(
                    f"'{s.step_id}' is planned twice on the same day ({other} and {s.key})",
                    "a recurrence planned again in an extension must start in that "
                    "extension; this is a planner bug if the definition is otherwise valid",
                    step_id=s.step_id,
                    example=_day(s.date),
                )
            )
    return out
