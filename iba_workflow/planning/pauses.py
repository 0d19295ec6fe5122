"""A pause (sick leave) applied to a plan, as the engine applies it.

The planner does not model pauses: it plans as if they had not happened (completions made
after a pause are taken back by the pause's working days), and then every step that is not
done and falls on or after a pause's first day moves by the pause's working days. A date
that follows a completion after the pause is therefore not moved twice. The engine
(:mod:`iba_workflow.engine.target`) and the every-path validator (:mod:`.explore`) both use
this; pure, no I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from iba_workflow.calendar import WorkingCalendar

from .plan import Plan

Window = tuple[dt.date, dt.date]  # first and last day of a pause


def before_pauses(
    completions: Mapping[str, dt.date], pauses: Sequence[Window], calendar: WorkingCalendar
) -> dict[str, dt.date]:
    """Completion days as if the pauses had not happened: the planner plans in that time,
    and :func:`apply_pauses` moves the result out again. A completion inside a pause counts
    as made on its first day, so what follows it comes after the pause."""
    out = dict(completions)
    for first, last in sorted(pauses, reverse=True):
        n = calendar.working_days_between(first, last)
        for key, day in out.items():
            if day > last:
                out[key] = max(first, calendar.add_working_days(day, -n))
            elif day >= first:
                out[key] = first
    return out


def apply_pauses(
    completions: Mapping[str, dt.date],
    pauses: Sequence[Window],
    calendar: WorkingCalendar,
    dates: dict[str, dt.date],
    shifts: dict[str, int],
    *,
    keep: Collection[str] = (),
) -> None:
    """Move ``dates`` (step key → date, planned with :func:`before_pauses`; updated in
    place) by each pause's working days, in date order; ``shifts`` counts the working days
    each key moved. Completed steps stay where they were done, and so do the steps in
    ``keep`` (a group's occurrence: the group meets without her).

    Every step that is not done and falls on or after a pause moves by the same working
    days, so nothing is lost (a repeat anchored to a completion keeps its bound) and two
    steps on different days stay on different days."""
    for first, last in sorted(pauses):
        n = calendar.working_days_between(first, last)
        if n == 0:
            continue
        for key, day in dates.items():
            if key in completions or key in keep or day < first:
                continue
            dates[key] = calendar.add_working_days(day, n)
            shifts[key] += n


def paused_plan(
    plan: Plan,
    calendar: WorkingCalendar,
    completions: Mapping[str, dt.date],
    pause: Window,
) -> Plan:
    """``plan`` (planned with :func:`before_pauses`) as the engine holds it after
    ``pause``: steps re-dated, completed ones on the day they were done, and the periods'
    midway and end moved like a step on that day would be."""
    first, last = pause
    dates = {s.key: s.date for s in plan.steps}
    group = {s.key for s in plan.steps if s.group}  # as the engine: the group meets on
    apply_pauses(completions, [pause], calendar, dates, dict.fromkeys(dates, 0), keep=group)
    dates.update((k, day) for k, day in completions.items() if k in dates)
    n = calendar.working_days_between(first, last)

    def moved(day: dt.date) -> dt.date:
        return day if day < first else calendar.add_working_days(day, n)

    steps = sorted(
        (dataclasses.replace(s, date=dates[s.key]) for s in plan.steps),
        key=lambda s: (s.date, s.time or dt.time(0)),  # stable: the planner's order within
    )
    periods = tuple(
        dataclasses.replace(p, midway=moved(p.midway), end=moved(p.end)) for p in plan.periods
    )
    end = dates[plan.ended_by.step_key] if plan.ended_by else max(p.end for p in periods)
    return dataclasses.replace(plan, steps=tuple(steps), periods=periods, end=end)
