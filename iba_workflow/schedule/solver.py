"""The week-schedule solver: OR-Tools CP-SAT over a slot grid, one model per week.

Pure function over plain data (:class:`ScheduleProblem` + a :class:`WorkingCalendar`)
returning placements, what could not be placed with a Danish reason, and each
participant's hours against her weekly target. Deterministic: one search worker and a
fixed seed, so the same problem always gives the same schedule.

The rules (docs/schedule.md):

- only working days (no weekend, no holiday or closing day), only inside the opening
  hours and a person's own working hours, never on a fixed commitment or a busy time;
- nobody is in two places at once (a time-indexed no-overlap per person and slot);
- a group session holds every member of its group enrolled that week and its staff at
  one time, or is not held (and says why);
- an individual talk needs the participant and the staff member free at once;
- an activity is placed in blocks, at most one block of an activity a day;
- priority: group sessions, then talks, then activities (weights per placed slot and
  per participant served).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from iba_workflow.calendar import WorkingCalendar

from .grid import Availability, WeekGrid, availability
from .model import (
    Participant,
    Placement,
    ScheduleProblem,
    Solution,
    Unplaced,
    WeekHours,
)
from .reasons import hours_reason, unplaced_reason

SEED = 20270301
_WEIGHT = {"session": 100, "talk": 20, "activity": 10}
_KEEP_SCALE = 10_000  # above the number of items a week can keep in place


@dataclass(frozen=True)
class _Item:
    """Something to place this week: up to ``count`` blocks of ``length`` slots."""

    key: str
    item: str
    name: str
    kind: str
    people: tuple[str, ...]
    length: int
    count: int
    day_group: str  # at most one block of the same day_group a day
    counts_for: tuple[str, ...]  # participants whose hours it counts toward


def solve(
    problem: ScheduleProblem, calendar: WorkingCalendar, *, previous: Solution | None = None
) -> Solution:
    """Place every week of ``problem``. See the module docstring for the rules.

    With ``previous`` (the schedule saved before a change), among equally good schedules
    the one that keeps most items where they were wins: a changed fixed day moves what it
    must, not the whole week.

    A week whose model is identical to an earlier week's (same open weekdays, same taken
    slots of everyone, same items) gets that week's answer moved by whole weeks: the
    solver is deterministic, so solving it again would give the same.
    """
    solution = Solution()
    memo: dict[object, tuple[dict[str, list[int]], str]] = {}
    for week in range(problem.weeks):
        monday = problem.first_monday + dt.timedelta(weeks=week)
        kept = {
            (p.key, p.start)
            for p in (previous.placements if previous else ())
            if p.week == monday and p.kind != "commitment"
        }
        _solve_week(problem, calendar, monday, solution, memo, kept)
    return solution


def _solve_week(
    problem: ScheduleProblem,
    calendar: WorkingCalendar,
    monday: dt.date,
    out: Solution,
    memo: dict[object, tuple[dict[str, list[int]], str]],
    kept: set[tuple[str, dt.datetime]],
) -> None:
    grid = WeekGrid.for_week(monday, problem.opening, problem.slot_minutes, calendar)
    friday = monday + dt.timedelta(days=4)
    members = [p for p in problem.participants if p.person.enrolled_in(monday, friday)]
    avail: dict[str, Availability] = {p.person.ref: availability(p.person, grid) for p in members}
    avail.update({s.ref: availability(s, grid) for s in problem.staff})
    items = _items(problem, members, avail, grid)
    slot_at = {grid.start_of(g): g for g in range(grid.size)}
    keep = {(k, slot_at[t]) for k, t in kept if t in slot_at}
    key: tuple[object, ...] = (
        tuple(d.date.weekday() for d in grid.days),
        tuple((ref, tuple(a.taken), a.counted_minutes) for ref, a in sorted(avail.items())),
        tuple(items),
        frozenset(keep),
    )
    if key not in memo:
        memo[key] = _choose(items, grid, avail, problem.time_limit_seconds, keep)
    chosen, status = memo[key]
    out.status[monday.isoformat()] = status
    week_placed = _placements_of(items, chosen, grid, monday)
    out.placements.extend(week_placed)
    for it in items:
        missing = it.count - sum(1 for p in week_placed if p.key == it.key)
        for _ in range(missing):
            out.unplaced.append(
                Unplaced(
                    key=it.key,
                    item=it.item,
                    name=it.name,
                    people=it.people,
                    week=monday,
                    minutes=it.length * grid.slot_minutes,
                    reason=unplaced_reason(it.name, it.people, it.length, grid, avail, week_placed),
                    kind=it.kind,
                )
            )
    for p in members:
        ref = p.person.ref
        placed = avail[ref].counted_minutes + sum(
            pl.minutes for pl in week_placed if ref in pl.people and _counts(items, pl.key, ref)
        )
        out.placements.extend(_commitment_placements(p, grid, monday))
        reason = None
        if placed < p.target_minutes:
            mine = [u for u in out.unplaced if u.week == monday and ref in u.people]
            reason = hours_reason(ref, placed, p.target_minutes, grid, mine)
        out.hours.append(WeekHours(ref, monday, p.target_minutes, placed, reason))


def _choose(
    items: list[_Item],
    grid: WeekGrid,
    avail: dict[str, Availability],
    time_limit: float,
    keep: set[tuple[str, int]],
) -> tuple[dict[str, list[int]], str]:
    """The CP-SAT model of one week: for every item, the start slots chosen."""
    model = cp_model.CpModel()
    options: dict[str, list[tuple[int, cp_model.IntVar]]] = {}
    covering: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    per_day: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    objective = []
    for it in items:
        free = [all(avail[r].free[g] for r in it.people) for g in range(grid.size)]
        mine = []
        for s in grid.starts(it.length, free):
            x = model.new_bool_var(f"{it.key}@{s}")
            mine.append((s, x))
            for person in it.people:
                for k in range(it.length):
                    covering[(person, s + k)].append(x)
            per_day[(it.day_group, s // grid.per_day)].append(x)
            gain = _WEIGHT[it.kind] * it.length * max(1, len(it.counts_for))
            # placed minutes first; a kept place only breaks ties (at most one per item)
            objective.append((gain * _KEEP_SCALE + ((it.key, s) in keep)) * x)
        options[it.key] = mine
        if mine:
            model.add(sum(x for _, x in mine) <= it.count)
    for xs in covering.values():
        if len(xs) > 1:
            model.add_at_most_one(xs)
    for xs in per_day.values():
        if len(xs) > 1:
            model.add_at_most_one(xs)
    model.maximize(sum(objective))

    solver = cp_model.CpSolver()
    solver.parameters.num_search_workers = 1
    solver.parameters.random_seed = SEED
    # A limit in deterministic time (not wall time), so a loaded machine cannot change
    # the answer: the same model always stops at the same point of the search.
    solver.parameters.max_deterministic_time = time_limit
    # Presolve costs more than it saves on these small time-indexed models (measured: the
    # HOP group's 13 weeks take a third of the time without it); results stay optimal.
    solver.parameters.cp_model_presolve = False
    status = solver.solve(model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    chosen = {
        key: sorted(s for s, x in mine if found and solver.value(x))
        for key, mine in options.items()
    }
    return chosen, solver.status_name(status)


def _placements_of(
    items: list[_Item], chosen: dict[str, list[int]], grid: WeekGrid, monday: dt.date
) -> list[Placement]:
    out = []
    for it in items:
        for s in chosen[it.key]:
            start = grid.start_of(s)
            out.append(
                Placement(
                    key=it.key,
                    item=it.item,
                    name=it.name,
                    people=it.people,
                    start=start,
                    end=start + dt.timedelta(minutes=it.length * grid.slot_minutes),
                    kind=it.kind,
                    week=monday,
                )
            )
    return out


def _counts(items: list[_Item], key: str, ref: str) -> bool:
    return any(it.key == key and ref in it.counts_for for it in items)


def _commitment_placements(p: Participant, grid: WeekGrid, monday: dt.date) -> list[Placement]:
    from .grid import TZ

    out = []
    for offset in range(5):
        day = monday + dt.timedelta(days=offset)
        if day in grid.closed:
            continue
        for c in p.person.commitments:
            if c.occurs_on(day):
                out.append(
                    Placement(
                        key=f"{p.person.ref}/fast/{c.label}",
                        item="commitment",
                        name=c.label,
                        people=(p.person.ref,),
                        start=dt.datetime.combine(day, c.time.start, tzinfo=TZ),
                        end=dt.datetime.combine(day, c.time.end, tzinfo=TZ),
                        kind="commitment",
                        week=monday,
                    )
                )
    return out


def _slots(minutes: int, grid: WeekGrid) -> int:
    return -(-minutes // grid.slot_minutes)


def _items(
    problem: ScheduleProblem,
    members: list[Participant],
    avail: dict[str, Availability],
    grid: WeekGrid,
) -> list[_Item]:
    items: list[_Item] = []
    refs = {p.person.ref for p in members}
    taken_by: dict[str, int] = defaultdict(int)  # minutes of sessions/talks counting per person
    for session in problem.sessions:
        group = tuple(p.person.ref for p in members if session.group in p.groups)
        if not group or not session.held_in(grid.monday):
            continue
        items.append(
            _Item(
                key=f"{session.group}/{session.id}",
                item=session.id,
                name=session.name,
                kind="session",
                people=group + session.staff,
                length=_slots(session.minutes, grid),
                count=session.per_week,
                day_group=f"{session.group}/{session.id}",
                counts_for=group,
            )
        )
        for ref in group:
            taken_by[ref] += session.minutes * session.per_week
    for talk in problem.talks:
        if talk.participant not in refs:
            continue
        counts = (talk.participant,) if talk.counts_toward_hours else ()
        items.append(
            _Item(
                key=f"{talk.participant}/{talk.id}",
                item=talk.id,
                name=talk.name,
                kind="talk",
                people=(talk.participant, talk.staff),
                length=_slots(talk.minutes, grid),
                count=talk.per_week,
                day_group=f"{talk.participant}/{talk.id}",
                counts_for=counts,
            )
        )
        if counts:
            taken_by[talk.participant] += talk.minutes * talk.per_week
    for p in members:
        ref = p.person.ref
        fixed = sum(a.minutes for a in p.activities if not a.fill)
        for a in p.activities:
            minutes = a.minutes
            if a.fill:
                minutes = p.target_minutes - avail[ref].counted_minutes - taken_by[ref] - fixed
            if minutes <= 0:
                continue
            full, rest = divmod(minutes, a.block_minutes)
            blocks = [(a.block_minutes, full)] + ([(rest, 1)] if rest else [])
            for n, (length, count) in enumerate(b for b in blocks if b[1]):
                items.append(
                    _Item(
                        key=f"{ref}/{a.id}" + ("/rest" if n else ""),
                        item=a.id,
                        name=a.name,
                        kind="activity",
                        people=(ref,),
                        length=_slots(length, grid),
                        count=count,
                        day_group=f"{ref}/{a.id}",
                        counts_for=(ref,),
                    )
                )
    return items
