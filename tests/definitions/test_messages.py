"""Messages a coordinator understands, and times written the way people write them."""

from __future__ import annotations

import datetime as dt

import pytest

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition import parse_definition
from iba_workflow.errors import DefinitionError
from iba_workflow.planning import plan_enrollment

BASE = """\
id: tider
name: Tider
version: 1
municipality: hedensted
description: Times as people write them.
seed: 004_87f4e52cd9262117.txt
hours_per_week: 4
duration: {weeks: 13}
capacity: 6
intake: {kind: rolling}
roles: [{id: iba, name: IBA}]
steps:
  - id: moede
    kind: meeting
    name: Møde
    assignee: iba
    attendees: [iba]
    place: Jobcenteret
    when: {anchor: start, time: TIME}
"""


@pytest.mark.parametrize(("written", "meant"), [("10:00", "10:00"), ("9:30", "09:30")])
def test_an_unquoted_time_works_as_meant(written: str, meant: str) -> None:
    d = parse_definition(BASE.replace("TIME", written))
    plan = plan_enrollment(d, calendar=WorkingCalendar(municipality="x"), start=dt.date(2027, 3, 1))
    assert plan.get("moede").time == dt.time.fromisoformat(meant)


def test_a_time_yaml_reads_as_a_number_says_to_quote_it() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(BASE.replace("TIME", "10.00"))
    (problem,) = caught.value.problems
    assert (
        problem.message
        == "'time' in step 'moede': must be a time of day, HH:MM, not the number 10.0"
    )
    assert problem.hint is not None and 'time: "10:00"' in problem.hint


def test_no_message_names_an_internal_type() -> None:
    broken = (
        BASE.replace("hours_per_week: 4", "hours_per_week: [4]")
        .replace("capacity: 6", "capacity: {n: 6}")
        .replace("TIME", '"10:00"')
    )
    with pytest.raises(DefinitionError) as caught:
        parse_definition(broken)
    text = caught.value.render()
    for internal in ("float", "HoursRange", "'int'", "dict", "model_type", "Input should"):
        assert internal not in text, text
    assert all(p.hint for p in caught.value.problems), text
