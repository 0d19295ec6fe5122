from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iba_workflow import paths
from iba_workflow.calendar import WorkingCalendar, calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import Definition, load_definition
from iba_workflow.planning import ChosenOutcome, Plan, PlanOverrides, plan_enrollment
from iba_workflow.planning.pauses import before_pauses, paused_plan

DEFINITIONS_DIR = paths.PROJECT_ROOT / "definitions"
DEFINITION_IDS = [p.stem for p in iter_definition_files(DEFINITIONS_DIR)]
_cache: dict[str, Definition] = {}


def shipped(definition_id: str) -> Definition:
    if definition_id not in _cache:
        _cache[definition_id] = load_definition(DEFINITIONS_DIR / f"{definition_id}.yaml")
    return _cache[definition_id]


def calendar(d: Definition) -> WorkingCalendar:
    return calendar_for(d.municipality, paths.PROJECT_ROOT / "calendars")


def walk_with_pause(
    d: Definition,
    start: dt.date,
    outcomes: Sequence[tuple[str, str]],
    window: tuple[dt.date, dt.date],
) -> tuple[Plan, Plan]:
    """``d`` along ``outcomes`` with a pause, as the engine holds it: each decision is
    completed on the day the paused plan gives it. The plan without the pause for the same
    outcomes, and the plan with it."""
    cal = calendar(d)
    done: dict[str, dt.date] = {}
    chosen: list[ChosenOutcome] = []
    for key, outcome in [*outcomes, ("", "")]:
        planned = plan_enrollment(
            d,
            calendar=cal,
            start=start,
            overrides=PlanOverrides(completions=before_pauses(done, [window], cal)),
            outcomes=chosen,
        )
        held = paused_plan(planned, cal, done, window)
        if key:
            done[key] = held.get(key).date
            chosen.append(ChosenOutcome(key, outcome))
    return plan_enrollment(d, calendar=cal, start=start, outcomes=chosen), held
