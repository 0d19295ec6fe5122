"""The planner's fast paths give what the plain ones give: steps made from a compiled
template are the steps ``PlannedStep(...)`` makes, and weekly dates found at list speed
are the dates the day-by-day walk finds (the golden plans check whole plans)."""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import fields

from hypothesis import given, settings
from hypothesis import strategies as st
from planhelp import DEFINITION_IDS, calendar, shipped

from iba_workflow import paths
from iba_workflow.calendar import WorkingCalendar, calendar_for
from iba_workflow.planning import PlannedStep, plan_enrollment
from iba_workflow.planning.recurrence import plain_weeks, walk_weeks

CALENDARS = [WorkingCalendar(municipality="x"), calendar_for("hedensted", paths.calendars_dir())]


def test_steps_made_from_a_template_are_the_steps_the_constructor_makes() -> None:
    # make_step skips __init__: a __post_init__ (a check, a normalised field) would be
    # skipped too. Give make_step the same step before adding one.
    assert "__post_init__" not in vars(PlannedStep)
    for def_id in DEFINITION_IDS:
        d = shipped(def_id)
        start = {"cohort": d.intake.cohorts[0].id} if d.intake.kind == "cohort" else {}
        plan = plan_enrollment(d, calendar=calendar(d), start=dt.date(2027, 3, 1), **start)
        assert any(s.occurrence for s in plan.steps)  # weekly sessions, made in the loop
        for step in plan.steps:
            made = PlannedStep(**{f.name: getattr(step, f.name) for f in fields(step)})
            assert made == step and hash(made) == hash(step) and repr(made) == repr(step)
            assert list(vars(made).items()) == list(vars(step).items())  # same order too
            assert pickle.loads(pickle.dumps(step)) == step


@settings(max_examples=400, deadline=None)
@given(
    first=st.dates(dt.date(2024, 1, 1), dt.date(2031, 12, 31)),
    span=st.integers(-10, 420),
    days=st.lists(st.integers(0, 4), min_size=1, max_size=5, unique=True),
    every_weeks=st.integers(1, 3),
    policy=st.sampled_from(["skip", "next", "previous", "nearest"]),
    cal=st.sampled_from(CALENDARS),
)
def test_weekly_dates_at_list_speed_are_the_dates_of_the_walk(
    first: dt.date, span: int, days: list[int], every_weeks: int, policy: str, cal: WorkingCalendar
) -> None:
    last = first + dt.timedelta(days=span)
    days = sorted(days)
    quick = plain_weeks(first, last, days, every_weeks, policy, cal)
    walked = walk_weeks(first, last, days, every_weeks, None, policy, cal)
    if policy == "skip":
        assert quick is not None  # the common case does take the quick path
    assert quick is None or quick == walked


def test_a_moved_session_takes_the_quick_path_unless_it_lands_on_another() -> None:
    cal = CALENDARS[0]  # Easter Monday 2027 is 29 March
    first, last = dt.date(2027, 3, 1), dt.date(2027, 4, 30)
    mondays = plain_weeks(first, last, [0], 1, "next", cal)
    assert mondays is not None and mondays == walk_weeks(first, last, [0], 1, None, "next", cal)
    assert (dt.date(2027, 3, 30), dt.date(2027, 3, 29), "Anden påskedag → tirsdag") in mondays[0]
    # Moved onto the Tuesday session's own day: the walk decides which one is dropped.
    assert plain_weeks(first, last, [0, 1], 1, "next", cal) is None
