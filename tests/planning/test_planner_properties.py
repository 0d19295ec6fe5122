"""Properties of every plan of every definition, for any start date, course length,
individual week schedule and sequence of chosen outcomes."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planhelp import DEFINITION_IDS, calendar, shipped

from iba_workflow.errors import PlanError
from iba_workflow.planning import ChosenOutcome, Plan, PlanOverrides, plan_enrollment

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, Plan, Plan]:
    """(definition id, plan, the same plan made again). Plans print as a short summary."""
    def_id = draw(st.sampled_from(DEFINITION_IDS))
    d = shipped(def_id)
    cal = calendar(d)
    start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2031, 12, 31)))
    weeks = draw(st.integers(d.duration.shortest, d.duration.longest))
    weekdays = {
        s.id: draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        for s in d.steps
        if s.kind == "session" and draw(st.booleans())
    }
    overrides = PlanOverrides(duration_weeks=weeks, weekdays=weekdays)
    chosen: list[ChosenOutcome] = []
    plan = plan_enrollment(d, calendar=cal, start=start, overrides=overrides)
    for _ in range(draw(st.integers(0, 4))):
        if not plan.open_branches:
            break
        branch = draw(st.sampled_from(plan.open_branches))
        choice = ChosenOutcome(branch.step_key, branch.outcome)
        try:
            plan = plan_enrollment(
                d, calendar=cal, start=start, overrides=overrides, outcomes=[*chosen, choice]
            )
        except PlanError as exc:
            # A random sequence may extend too far, or decide a step the course never
            # reaches because an earlier outcome ended it: both are refused, clearly.
            assert "more than the" in exc.message or "after the course ended" in exc.message
            continue
        chosen.append(choice)
    again = plan_enrollment(d, calendar=cal, start=start, overrides=overrides, outcomes=chosen)
    return def_id, plan, again


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plan_properties(scenario: tuple[str, Plan, Plan]) -> None:
    def_id, plan, again = scenario
    cal = calendar(shipped(def_id))

    # Deterministic: the same inputs give the same plan.
    assert plan.to_json() == again.to_json()
    json.dumps(plan.to_json())

    # No step on a weekend, public holiday or configured closing day.
    for step in plan.steps:
        assert cal.is_working_day(step.date), (step.key, step.date, cal.closed_reason(step.date))
    for skipped in plan.skipped:
        assert not cal.is_working_day(skipped.date)

    # Ordered by date (and time), keys unique.
    order = [(s.date, s.time or dt.time(0)) for s in plan.steps]
    assert order == sorted(order)
    assert len({s.key for s in plan.steps}) == len(plan.steps)

    # Dependencies first.
    for step in plan.steps:
        for dep in step.depends_on:
            if dep in plan:
                assert plan.get(dep).date <= step.date, (dep, step.key)

    # Visitation before start; midway between start and end, near the middle.
    assert plan.visitation <= plan.start
    for period in plan.periods:
        assert period.start <= period.midway <= period.end
        exact = period.start + (period.end - period.start) / 2
        assert abs((period.midway - exact).days) <= 3
        for day in (period.start, period.midway, period.end):
            assert cal.is_working_day(day)

    # Reminders before, escalation after, all on working days.
    for step in plan.steps:
        assert all(r < step.date and cal.is_working_day(r) for r in step.reminders)
        if step.escalation:
            assert step.escalation[0] > step.date and cal.is_working_day(step.escalation[0])

    # An ended plan has nothing after its end and nothing left open.
    if plan.ended_by is not None:
        assert not plan.open_branches
        assert all(s.date <= plan.end for s in plan.steps)
