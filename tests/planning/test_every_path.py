"""The every-path validator and the planner bugs it found.

Each planner bug has a test that plans the path which used to go wrong; each kind of
finding has a test that shows the validator says it (the broken fixtures in
tests/definitions/broken/path_*.yaml show the same through `iba validate`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from planhelp import DEFINITION_IDS, calendar, shipped

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition import parse_definition
from iba_workflow.planning import ChosenOutcome, plan_enrollment
from iba_workflow.planning.explore import STANDARD_PAUSES, explore_definition
from iba_workflow.planning.path_checks import plan_findings

D = dt.date
CAL = WorkingCalendar(municipality="hedensted")
HEAD = """\
id: probe
name: Probe
version: 1
municipality: hedensted
description: A definition made to try one path.
seed: 001_436bd26a7ea773bd.txt
hours_per_week: 25
capacity: 15
intake: {kind: rolling}
roles: [{id: iba, name: IBA}, {id: leder, name: Leder, external: true}]
"""

# HOP's shape: a company interview decides the internship; the final evaluation may extend
# the course and lists the internship's assessment among the steps planned again.
BRANCH_IN_REPLAN = (
    HEAD
    + """\
duration: {weeks: 13, extendable_to_weeks: 26}
steps:
  - id: praktiksamtale
    kind: evaluation
    name: Praktiksamtale
    assignee: iba
    when: {anchor: start, offset: {working_days: 5}}
    outcomes: [{id: udvalgt, name: Udvalgt}, {id: ikke_udvalgt, name: Ikke udvalgt}]
  - id: praktikstart
    kind: task
    name: Praktikstart
    only_after: {step: praktiksamtale, outcome: udvalgt}
    assignee: iba
    when: {anchor: completion.praktiksamtale, offset: {working_days: 5}}
  - id: praktikvurdering
    kind: task
    name: Vurdering efter praktik
    only_after: {step: praktiksamtale, outcome: udvalgt}
    assignee: iba
    when: {anchor: midway}
  - id: slutevaluering
    kind: evaluation
    name: Slutevaluering
    assignee: iba
    when: {anchor: end, shift: previous}
    outcomes:
      - {id: slut, name: Slut, ends: true}
      - id: forlaengelse
        name: Forlængelse
        extend: {weeks: 13, replan: [praktikvurdering, slutevaluering]}
"""
)


def test_replan_does_not_plan_a_step_of_a_branch_not_taken() -> None:
    d = parse_definition(BRANCH_IN_REPLAN)
    plan = plan_enrollment(
        d,
        calendar=CAL,
        start=D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("praktiksamtale", "ikke_udvalgt"),
            ChosenOutcome("slutevaluering", "forlaengelse"),
        ],
    )
    assert not [s for s in plan.steps if s.step_id == "praktikvurdering"]
    assert "slutevaluering@2" in plan
    taken = plan_enrollment(
        d,
        calendar=CAL,
        start=D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("praktiksamtale", "udvalgt"),
            ChosenOutcome("slutevaluering", "forlaengelse"),
        ],
    )
    assert "praktikvurdering" in taken and "praktikvurdering@2" in taken
    assert taken.get("praktikvurdering@2").date == taken.periods[1].midway


COMPLETION_ANCHORED_REPEAT = (
    HEAD
    + """\
duration: {weeks: 8, extendable_to_weeks: 16}
steps:
  - id: opstart
    kind: task
    name: Opstart
    assignee: iba
    when: {anchor: start, offset: {working_days: 3}}
  - id: opfoelgning
    kind: task
    name: Ugentlig opfølgning
    assignee: iba
    repeat: {weekdays: [fri], start: {anchor: completion.opstart}, until: {anchor: end}}
  - id: evaluering
    kind: evaluation
    name: Evaluering
    assignee: iba
    when: {anchor: end, shift: previous}
    outcomes:
      - {id: slut, name: Slut, ends: true}
      - id: forlaengelse
        name: Forlængelse
        extend: {weeks: 8, replan: [opfoelgning, evaluering]}
"""
)


def test_completion_anchored_recurrence_starts_in_its_own_period() -> None:
    d = parse_definition(COMPLETION_ANCHORED_REPEAT)
    plan = plan_enrollment(
        d,
        calendar=CAL,
        start=D(2027, 3, 1),
        outcomes=[ChosenOutcome("evaluering", "forlaengelse")],
    )
    first = [s.date for s in plan.steps if s.key.startswith("opfoelgning#")]
    second = [s.date for s in plan.steps if s.key.startswith("opfoelgning@2#")]
    assert first and second
    assert min(second) >= plan.periods[1].start
    assert not set(first) & set(second)
    assert len(second) == 8  # one a Friday of the 8-week extension, none before it


def test_the_validator_says_when_a_branch_step_or_a_day_is_planned_wrongly() -> None:
    d = parse_definition(BRANCH_IN_REPLAN)
    plan = plan_enrollment(
        d, calendar=CAL, start=D(2027, 3, 1), outcomes=[ChosenOutcome("praktiksamtale", "udvalgt")]
    )
    assert plan_findings(d, plan) == []
    stray = replace(plan.get("praktikvurdering"), key="praktikvurdering@2")
    # The plan the old planner made: a branch step on a path that did not choose it ...
    wrong = replace(plan, chosen=(), steps=(*plan.steps, stray))
    messages = [f.message for f in plan_findings(d, wrong)]
    assert any("was not chosen" in m for m in messages)
    # ... and the same step twice on one day.
    assert any("planned twice on the same day" in m for m in messages)


def test_every_shipped_definition_is_valid_on_every_path() -> None:
    for def_id in DEFINITION_IDS:
        d = shipped(def_id)
        result = explore_definition(d, calendar(d))
        assert result.findings == [], (def_id, result.findings[:3])
        assert result.paths >= 3  # three starts at least, more with branches


def test_every_outcome_of_every_definition_is_taken_on_some_path() -> None:
    for def_id in DEFINITION_IDS:
        d = shipped(def_id)
        result = explore_definition(d, calendar(d), starts=[("påske", D(2027, 3, 1))])
        assert result.paths >= sum(len(s.outcomes_list) > 0 for s in d.steps), def_id


def _chain(n: int) -> str:
    """n evaluations in a row, each with two outcomes that change nothing, then an end."""
    steps = "".join(
        f"""\
  - id: e{i}
    kind: evaluation
    name: Evaluering {i}
    assignee: iba
    when: {{anchor: start, offset: {{weeks: {i + 1}}}}}
    outcomes: [{{id: ja, name: Ja}}, {{id: nej, name: Nej}}]
"""
        for i in range(n)
    )
    return (
        HEAD
        + "duration: {weeks: 20}\nsteps:\n"
        + steps
        + """\
  - id: slut
    kind: evaluation
    name: Slut
    assignee: iba
    when: {anchor: end}
    outcomes: [{id: slut, name: Slut, ends: true}]
"""
    )


def test_identical_states_are_walked_once() -> None:
    d = parse_definition(_chain(10))
    result = explore_definition(d, CAL, starts=[("påske", D(2027, 3, 1))])
    assert result.findings == []
    # 2^10 = 1024 choice sequences, but after each decision both outcomes give the same
    # plan: the walk is linear in the number of decisions.
    # Once without a pause, once per pause (each pause walk is pruned the same way).
    walks = 1 + len(STANDARD_PAUSES)
    assert result.plans <= walks * (2 * 11 + 1) + 1
    assert result.pruned >= 10


def test_the_shapes_that_used_to_plan_wrongly_are_valid_on_every_path_and_pause() -> None:
    """The planner bugs above cannot fail a definition any more: their shapes validate
    clean, with every pause walked too (the broken fixtures cover what a definition can
    still get wrong)."""
    for text in (BRANCH_IN_REPLAN, COMPLETION_ANCHORED_REPEAT):
        result = explore_definition(parse_definition(text), CAL, starts=[("påske", D(2027, 3, 1))])
        assert result.findings == []
        assert result.pauses == len(STANDARD_PAUSES) * result.starts
        assert result.paths > result.pauses
