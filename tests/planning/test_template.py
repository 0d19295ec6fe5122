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
from iba_workflow.planning import ChosenOutcome, PlannedStep, PlanOverrides, plan_enrollment
from iba_workflow.planning.recurrence import plain_weeks, walk_weeks
from iba_workflow.planning.template import clear_calendar_memos

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


def _scenarios() -> list[tuple[str, dict[str, object]]]:
    """Plans of every shipped definition that share some of a recurring series' inputs
    and differ in others: start, cohort, her own weekdays, the course's length, a moved
    step, and each outcome of the first plan (branches, extension periods)."""
    out: list[tuple[str, dict[str, object]]] = []
    for def_id in DEFINITION_IDS:
        d = shipped(def_id)
        if d.intake.kind == "cohort":
            starts: list[dict[str, object]] = [{"cohort": c.id} for c in d.intake.cohorts[:2]]
        else:
            starts = [{"start": dt.date(2027, 3, 1)}, {"start": dt.date(2027, 3, 24)}]
        own = [s.id for s in d.steps if s.own_days]
        for start in starts:
            out.append((def_id, start))
            if own:
                for days in (("mon", "wed"), ("tue", "thu")):
                    ov = PlanOverrides(weekdays={sid: days for sid in own})
                    out.append((def_id, {**start, "overrides": ov}))
            if d.duration.longest > d.duration.shortest:
                for weeks in {d.duration.shortest, d.duration.longest} - {d.duration.default}:
                    ov = PlanOverrides(duration_weeks=weeks)
                    out.append((def_id, {**start, "overrides": ov}))
            first = plan_enrollment(d, calendar=calendar(d), **start)  # type: ignore[arg-type]
            # a step moved: the first one, and every step a weekly series ends at
            ends = {
                s.repeat.until.anchor.split(".", 1)[1]
                for s in d.steps
                if s.repeat is not None
                and s.repeat.until is not None
                and "." in s.repeat.until.anchor
            }
            moved = [s for s in first.steps if s.occurrence is None]
            for step in [moved[0], *(s for s in moved if s.step_id in ends)]:
                later = step.date + dt.timedelta(days=9)
                out.append((def_id, {**start, "overrides": PlanOverrides(dates={step.key: later})}))
                ov = PlanOverrides(completions={step.key: later})
                out.append((def_id, {**start, "overrides": ov}))
            for branch in first.open_branches:
                chosen = [ChosenOutcome(branch.step_key, branch.outcome)]
                out.append((def_id, {**start, "outcomes": chosen}))
    return out


def test_a_plan_is_the_same_whether_its_recurring_series_are_remembered_or_not() -> None:
    # The planner remembers each recurring step's instances per calendar and shares them
    # between plans with the same inputs. A plan made after many others (everything
    # remembered) must equal the one made from nothing, for every kind of input.
    scenarios = _scenarios()
    assert len(scenarios) > 40
    cals = {def_id: calendar(shipped(def_id)) for def_id in DEFINITION_IDS}  # one each
    cold = []
    for def_id, kwargs in scenarios:
        clear_calendar_memos()
        d = shipped(def_id)
        cold.append(plan_enrollment(d, calendar=cals[def_id], **kwargs).to_json())  # type: ignore[arg-type]
    clear_calendar_memos()
    for round_ in (list(reversed(range(len(scenarios)))), list(range(len(scenarios)))):
        for n in round_:
            def_id, kwargs = scenarios[n]
            d = shipped(def_id)
            warm = plan_enrollment(d, calendar=cals[def_id], **kwargs)  # type: ignore[arg-type]
            assert warm.to_json() == cold[n], (def_id, kwargs)
