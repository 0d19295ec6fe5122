"""Pauses (sick leave) as the every-path validator walks them, and the bug the walk found.

Before: a pause moved every step that was not done, except those that followed a
completion made after the pause began. A repeat that starts after such a completion but
ends with the course (HOP's teaching after an internship without paid hours) kept its old
last day while the course's end moved: a week of teaching disappeared without a word, and
the sessions that stayed on their weekdays met the moved ones (double booking)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from planhelp import calendar, shipped, walk_with_pause

from iba_workflow.planning import Plan, plan_enrollment
from iba_workflow.planning.explore import STANDARD_PAUSES, explore_definition, pause_window
from iba_workflow.planning.path_checks import pause_findings, plan_findings

D = dt.date
START = D(2027, 3, 1)
HOP_PATH = (
    ("klar_til_praktik", "klar"),
    ("praktiksamtale", "udvalgt"),
    ("praktikvurdering", "ingen_loentimer"),
)


def _walk_with_pause(window: tuple[dt.date, dt.date]) -> tuple[Plan, Plan]:
    return walk_with_pause(shipped("hop"), START, HOP_PATH, window)


def _teaching(plan: Plan) -> list[dt.date]:
    return [s.date for s in plan.steps if s.step_id == "undervisning_efter_praktik"]


def test_a_pause_before_the_midway_keeps_every_teaching_day_after_the_internship() -> None:
    window = (D(2027, 4, 5), D(2027, 4, 18))  # two weeks, before the midway meeting
    unpaused, held = _walk_with_pause(window)
    assert len(_teaching(held)) == len(_teaching(unpaused)) > 0
    end = held.get("slutevaluering").date
    assert end > unpaused.get("slutevaluering").date  # the course's end moved ...
    assert end - max(_teaching(held)) < dt.timedelta(days=7)  # ... and the teaching with it
    assert pause_findings(unpaused, held, window) == []
    assert plan_findings(shipped("hop"), held) == []  # nobody booked twice
    assert not any(window[0] <= s.date <= window[1] for s in held.steps if s.citizen_attends)


def test_the_validator_says_when_a_pause_drops_a_session_or_leaves_one_inside() -> None:
    window = (D(2027, 4, 5), D(2027, 4, 11))
    unpaused, held = _walk_with_pause(window)
    last = max(
        (s for s in held.steps if s.step_id == "undervisning_efter_praktik"),
        key=lambda s: s.date,
    )
    lost = replace(held, steps=tuple(s for s in held.steps if s.key != last.key))
    messages = [f.message for f in pause_findings(unpaused, lost, window)]
    assert messages == [
        "a pause of 1 week drops 'undervisning_efter_praktik' (1 planned without it): a pause "
        "must move what follows it, not lose it"
    ]
    sick = replace(held, steps=(*held.steps, replace(last, key="x", date=D(2027, 4, 7))))
    found = pause_findings(unpaused, sick, window)
    assert [f.step_id for f in found] == ["undervisning_efter_praktik"]
    assert "stays inside a pause of 1 week: the citizen is ill then" in found[0].message


def test_every_shipped_path_is_walked_again_with_each_pause() -> None:
    d = shipped("fagmentor")
    plain = explore_definition(d, calendar(d), starts=[("påske", START)], pauses=())
    result = explore_definition(d, calendar(d), starts=[("påske", START)])
    assert result.findings == []
    assert result.pauses == len(STANDARD_PAUSES) * result.starts
    assert result.paths == plain.paths * (1 + len(STANDARD_PAUSES))


def test_pauses_start_before_the_midway_meeting_and_in_the_last_week() -> None:
    d = shipped("fagmentor")
    plan = plan_enrollment(d, calendar=calendar(d), start=START)
    first, last = pause_window(plan, "før midtvejs", 2)
    assert first.weekday() == 0 and (last - first).days == 13
    assert first < plan.midway <= first + dt.timedelta(days=13)
    first, last = pause_window(plan, "sidste uge", 1)
    assert first <= plan.periods[0].end <= last
