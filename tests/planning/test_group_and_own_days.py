"""Group steps and her own days in the plan (issue 12): a rolling group's sessions fall on
the same calendar days for every member, whatever her start; a step on her own days has
no dates until they are known, and steps around them move off them."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from planhelp import calendar, shipped

from iba_workflow.definition import parse_definition
from iba_workflow.errors import DefinitionError
from iba_workflow.planning import plan_enrollment
from iba_workflow.planning.planner import PlanOverrides

MONDAY = dt.date(2027, 9, 13)  # the group meets Thursday 7 October (every 4 weeks)


def _group_dates(start: dt.date) -> dict[str, tuple[dt.date, str | None]]:
    d = shipped("hop")
    plan = plan_enrollment(d, calendar=calendar(d), start=start)
    return {s.step_id: (s.date, s.group) for s in plan.steps if s.group}


def test_women_starting_in_different_weeks_share_the_groups_presentation() -> None:
    first, second = _group_dates(MONDAY), _group_dates(MONDAY + dt.timedelta(weeks=1))
    assert first["virksomhedsoplaeg"] == second["virksomhedsoplaeg"]
    date, group = first["virksomhedsoplaeg"]
    assert date.weekday() == 3 and group == f"hop/hedensted/rolling/virksomhedsoplaeg/{date}"
    # a woman starting after it joins the next one, 4 weeks later
    later = _group_dates(date - dt.timedelta(days=3))["virksomhedsoplaeg"][0]
    assert later == date + dt.timedelta(weeks=4)


def test_language_school_is_on_her_own_days_and_teaching_goes_around_them() -> None:
    d = shipped("hop")
    bare = plan_enrollment(d, calendar=calendar(d), start=MONDAY)
    assert "sprogundervisning" in bare.own_days
    assert not [s for s in bare.steps if s.step_id == "sprogundervisning"]
    hers = plan_enrollment(
        d,
        calendar=calendar(d),
        start=MONDAY,
        overrides=PlanOverrides(weekdays={"sprogundervisning": ["mon", "wed"]}),
    )
    language = {s.date.weekday() for s in hers.steps if s.step_id == "sprogundervisning"}
    teaching = {s.date.weekday() for s in hers.steps if s.step_id == "undervisning"}
    assert language == {0, 2}
    assert len(teaching) == 3 and not teaching & language


def _with_step(extra: dict[str, object]) -> str:
    d = yaml.safe_load(shipped("hop").model_dump_json(exclude_none=True))
    d["steps"].append(extra)
    return yaml.safe_dump(d, allow_unicode=True)


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (
            {"when": {"anchor": "start"}, "held": "per_group"},
            "group step 'x' of a rolling intake needs 'repeat'",
        ),
        (
            {"repeat": {"weekdays": ["mon"], "until": {"anchor": "end"}}, "own_days": "sprog"},
            "takes her own days ('own_days'), so it cannot fix weekdays",
        ),
        ({"repeat": {"until": {"anchor": "end"}}}, "recurring step 'x' has no weekdays"),
    ],
)
def test_week_fields_used_wrongly_are_named_with_a_fix(step: dict[str, object], words: str) -> None:
    text = _with_step({"id": "x", "kind": "task", "name": "X", "assignee": "iba", **step})
    with pytest.raises(DefinitionError) as err:
        parse_definition(text)
    assert words in str(err.value)
