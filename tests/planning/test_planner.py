"""The planner, step by step: anchors, offsets, shifts, recurrence, branches, overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from planhelp import calendar, shipped

from iba_workflow.definition import parse_definition
from iba_workflow.errors import PlanError
from iba_workflow.planning import ChosenOutcome, PlanOverrides, plan_enrollment

D = dt.date


HER_DAYS = PlanOverrides(weekdays={"sprogundervisning": ["tue", "thu"]})  # her own days


def _plan(def_id: str, start: dt.date | None = None, **kw):  # type: ignore[no-untyped-def]
    d = shipped(def_id)
    return plan_enrollment(d, calendar=calendar(d), start=start, **kw)


def test_fagmentor_kickoff_is_two_working_days_before_the_internship() -> None:
    plan = _plan("fagmentor", D(2027, 3, 1))
    kickoff = plan.get("opstartsmoede")
    assert kickoff.date == D(2027, 2, 25)  # Thursday before Monday 1 March
    assert kickoff.time == dt.time(10, 0)
    assert kickoff.attendees == ("leder", "virksomhedskonsulent", "iba", "fagmentor")
    assert kickoff.depends_on == ("rekruttering",)
    assert plan.get("rekruttering").date < kickoff.date
    assert kickoff.reminders == (D(2027, 2, 23),)
    assert kickoff.escalation == (D(2027, 3, 2), "iba")


def test_midway_and_end() -> None:
    plan = _plan("fagmentor", D(2027, 3, 1))
    assert plan.end == D(2027, 5, 28)  # 13 weeks, last working day
    assert plan.get("midtvejssamtale").date == plan.midway == D(2027, 4, 14)
    assert plan.get("evaluering").date == plan.end


def test_shift_reason_across_easter() -> None:
    plan = _plan("fagmentor", D(2027, 3, 1))
    moved = plan.get("mentor_opfoelgning#3")
    # Langfredag is moved back; Skærtorsdag is closed too, so it lands on Wednesday.
    assert (moved.shifted_from, moved.date) == (D(2027, 3, 26), D(2027, 3, 24))
    assert moved.shift_reason == "Langfredag → onsdag"


def test_recurring_session_skips_closed_days_and_says_so() -> None:
    plan = _plan("motion_sygemeldte", D(2027, 3, 1))
    dates = [s.date for s in plan.steps if s.step_id == "traening_privat"]
    assert D(2027, 3, 26) not in dates and D(2027, 3, 29) not in dates
    assert {(s.date, s.reason) for s in plan.skipped} >= {
        (D(2027, 3, 26), "Langfredag"),
        (D(2027, 3, 29), "Anden påskedag"),
    }
    assert len(dates) + len([s for s in plan.skipped if "traening" in s.step_key]) == 18


def test_count_limited_recurrence() -> None:
    plan = _plan("sunde_kvinder", D(2027, 3, 1))
    weighings = [s for s in plan.steps if s.step_id == "kostsamtale"]
    assert [s.date for s in weighings] == [D(2027, 3, 2), D(2027, 3, 30), D(2027, 4, 27)]
    assert all(s.requires_consent for s in weighings)


def test_individual_week_schedule_overrides_weekdays() -> None:
    plan = _plan(
        "de_internationale",
        D(2027, 3, 1),
        overrides=PlanOverrides(weekdays={"sprogskole": ["tue", "fri"]}),
    )
    weekdays = {s.date.weekday() for s in plan.steps if s.step_id == "sprogskole"}
    assert weekdays == {1, 4}


def test_course_length_within_range() -> None:
    nine = _plan("sunde_kvinder", D(2027, 3, 1), overrides=PlanOverrides(duration_weeks=9))
    assert nine.end == D(2027, 4, 30)
    with pytest.raises(PlanError, match="outside the course's 9–12 weeks"):
        _plan("sunde_kvinder", D(2027, 3, 1), overrides=PlanOverrides(duration_weeks=13))


def test_cohort_uses_its_start_and_absolute_dates() -> None:
    plan = _plan("de_internationale", cohort="hold_2027")
    assert plan.start == D(2027, 2, 1) and plan.cohort == "hold_2027"
    test = plan.get("optagelsesproeve")
    assert test.date == D(2027, 6, 24) and test.anchor == "fast dato for holdet"
    with pytest.raises(PlanError, match="no cohort 'nope'"):
        _plan("de_internationale", cohort="nope")
    with pytest.raises(PlanError, match="rolling intake"):
        _plan("hop", cohort="x")


def test_open_branches_until_an_outcome_is_chosen() -> None:
    plan = _plan("de_internationale", cohort="hold_2027")
    assert {(b.step_key, b.outcome) for b in plan.open_branches} == {
        ("optagelsesproeve", "optaget"),
        ("optagelsesproeve", "ikke_optaget"),
    }
    assert "fastholdelse_vuc" not in plan and "praktiksoegning" not in plan


def test_vuc_admitted_then_dropped_out() -> None:
    plan = _plan(
        "de_internationale",
        cohort="hold_2027",
        outcomes=[
            ChosenOutcome("optagelsesproeve", "optaget"),
            ChosenOutcome("fastholdelse_vuc", "stoppet"),
        ],
    )
    assert plan.get("fastholdelse_vuc").date == D(2027, 9, 16)
    assert plan.get("praktiksoegning_efter_vuc").depends_on == ("fastholdelse_vuc",)
    assert "praktiksoegning" not in plan


def test_vuc_not_admitted() -> None:
    plan = _plan(
        "de_internationale",
        cohort="hold_2027",
        outcomes=[ChosenOutcome("optagelsesproeve", "ikke_optaget")],
    )
    assert plan.get("praktiksoegning").date == D(2027, 7, 8)  # 10 working days after the test
    assert "fastholdelse_vuc" not in plan


def test_completion_anchor_follows_the_actual_completion() -> None:
    late = _plan(
        "de_internationale",
        cohort="hold_2027",
        outcomes=[ChosenOutcome("optagelsesproeve", "ikke_optaget")],
        overrides=PlanOverrides(completions={"optagelsesproeve": D(2027, 6, 30)}),
    )
    assert late.get("praktiksoegning").date == D(2027, 7, 14)


def test_fagmentor_extension_then_paid_hours() -> None:
    plan = _plan(
        "fagmentor",
        D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("evaluering", "forlaengelse"),
            ChosenOutcome("evaluering@2", "loennede_timer"),
        ],
    )
    assert [p.weeks for p in plan.periods] == [13, 4]
    second = plan.periods[1]
    assert second.start == D(2027, 5, 31) and second.reason == "evaluering: forlaengelse"
    assert plan.get("midtvejssamtale@2").date == second.midway
    assert plan.get("evaluering@2").date == second.end == plan.end
    assert plan.ended_by == ChosenOutcome("evaluering@2", "loennede_timer")
    assert plan.open_branches == ()


def test_extension_beyond_the_limit_is_refused() -> None:
    with pytest.raises(PlanError, match="39 weeks, more than the 26"):
        _plan(
            "hop",
            D(2027, 3, 1),
            outcomes=[
                ChosenOutcome("slutevaluering", "forlaengelse"),
                ChosenOutcome("slutevaluering@2", "forlaengelse"),
            ],
        )


def test_outcome_that_ends_drops_later_steps() -> None:
    plan = _plan(
        "hop",
        D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("klar_til_praktik", "klar"),
            ChosenOutcome("praktiksamtale", "udvalgt"),
            ChosenOutcome("praktikvurdering", "ordinaere_loentimer"),
        ],
    )
    # ready 8 March, interview 11 March, internship from 18 March, assessed 4 weeks later
    assert plan.end == plan.get("praktikvurdering").date == D(2027, 4, 15)
    assert all(s.date <= plan.end for s in plan.steps)
    assert "slutevaluering" not in plan


def test_outcome_stops_teaching_but_not_language_school() -> None:
    plan = _plan(
        "hop",
        D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("klar_til_praktik", "klar"),
            ChosenOutcome("praktiksamtale", "udvalgt"),
        ],
        overrides=HER_DAYS,
    )
    decided = plan.get("praktiksamtale").date
    assert not [s for s in plan.steps if s.step_id == "undervisning" and s.date > decided]
    assert [s for s in plan.steps if s.step_id == "sprogundervisning" and s.date > decided]
    # the internship takes the teaching days, and no day has both
    internship = {s.date for s in plan.steps if s.step_id == "praktik"}
    assert internship and not internship & {
        s.date for s in plan.steps if s.step_id == "sprogundervisning"
    }


def test_health_course_second_round() -> None:
    plan = _plan(
        "motion_sygemeldte",
        D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("slutvurdering", "fortsat_sygemeldt"),
        ],
    )
    assert "slutvurdering_2" in plan
    assert plan.get("slutvurdering_2").date == plan.periods[1].end
    # the municipal health department trains and registers the outcome (seed 003: the
    # job centre counts "på baggrund af indregistreringer fra anden aktør")
    assert {s.assignee for s in plan.steps if s.period == 2} == {"fysioterapeut_kommune"}


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ([ChosenOutcome("evaluering", "nope")], "has no outcome 'nope'"),
        ([ChosenOutcome("nowhere", "x")], "no step 'nowhere'"),
        (
            [
                ChosenOutcome("evaluering", "loennede_timer"),
                ChosenOutcome("evaluering", "anden_aktivitet"),
            ],
            "two outcomes chosen",
        ),
    ],
)
def test_bad_outcomes_are_plan_errors(chosen: list[ChosenOutcome], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        _plan("fagmentor", D(2027, 3, 1), outcomes=chosen)


def test_a_start_is_required() -> None:
    with pytest.raises(PlanError, match="start date or a cohort") as caught:
        _plan("fagmentor")
    assert caught.value.hint


def test_start_on_a_holiday_moves_to_the_next_working_day() -> None:
    plan = _plan("fagmentor", D(2027, 3, 29))  # Anden påskedag
    assert plan.start == D(2027, 3, 30)


def test_dependency_pushes_a_step_that_would_come_too_early() -> None:
    d = parse_definition("""
id: push
name: Push
version: 1
municipality: hedensted
description: A step anchored before the step it waits for.
seed: x.txt
hours_per_week: 1
duration: {weeks: 4}
capacity: 1
intake: {kind: rolling}
roles: [{id: iba, name: IBA}]
steps:
  - {id: first, kind: task, name: First, assignee: iba, when: {anchor: start, offset: {days: 10}}}
  - {id: second, kind: task, name: Second, assignee: iba, when: {anchor: start},
     depends_on: [first]}
""")
    plan = plan_enrollment(d, calendar=calendar(d), start=D(2027, 3, 1))
    assert plan.get("second").date == plan.get("first").date == D(2027, 3, 11)
    assert plan.get("second").shift_reason == "venter på First"


def test_same_input_same_plan() -> None:
    a = _plan("hop", D(2026, 12, 7)).to_json()
    b = _plan("hop", D(2026, 12, 7)).to_json()
    assert a == b


def test_stopped_teaching_stays_stopped_when_the_course_is_extended() -> None:
    plan = _plan(
        "hop",
        D(2027, 3, 1),
        outcomes=[
            ChosenOutcome("klar_til_praktik", "klar"),
            ChosenOutcome("praktiksamtale", "udvalgt"),
            ChosenOutcome("slutevaluering", "forlaengelse"),
        ],
        overrides=HER_DAYS,
    )
    assert not [s for s in plan.steps if s.step_id in ("undervisning", "idraet") and s.period == 2]
    assert [s for s in plan.steps if s.step_id == "sprogundervisning" and s.period == 2]


SMALL = """
id: small
name: Small
version: 1
municipality: hedensted
description: A small definition for one rule at a time.
seed: x.txt
hours_per_week: 1
duration: {weeks: 4}
capacity: 1
intake: {kind: rolling}
roles: [{id: iba, name: IBA}]
defaults:
  reminders: [{days: 1}]
  escalation: {after: {days: 1}, to: iba}
steps:
"""


def _small(steps: str):  # type: ignore[no-untyped-def]
    d = parse_definition(SMALL + steps)
    return plan_enrollment(d, calendar=calendar(d), start=D(2027, 3, 1))


def test_reminders_and_escalations_fall_on_working_days() -> None:
    plan = _small("  - {id: a, kind: task, name: A, assignee: iba, when: {anchor: start}}\n")
    step = plan.get("a")  # Monday 1 March 2027
    assert step.reminders == (D(2027, 2, 26),)  # a day before is Sunday → Friday
    late = _small(
        "  - {id: a, kind: task, name: A, assignee: iba,"
        " when: {anchor: start, offset: {days: 4}}}\n"
    ).get("a")  # Friday
    assert late.escalation == (D(2027, 3, 8), "iba")  # a day after is Saturday → Monday


def test_a_step_can_switch_the_default_escalation_off() -> None:
    plan = _small(
        "  - {id: a, kind: task, name: A, assignee: iba, when: {anchor: start},"
        " escalation: false}\n"
    )
    assert plan.get("a").escalation is None


def test_occurrence_moved_onto_a_day_already_planned_is_listed_as_skipped() -> None:
    # Thursdays and Fridays, moved back when closed: Skærtorsdag (25 March) and Langfredag
    # (26 March) both move back to Wednesday 24 March, which is held once.
    plan = _small(
        "  - id: a\n    kind: task\n    name: A\n    assignee: iba\n"
        "    repeat: {weekdays: [thu, fri], until: {anchor: end, offset: {weeks: 1}},"
        " on_closed_day: previous}\n"
    )
    dates = [s.date for s in plan.steps]
    assert dates.count(D(2027, 3, 24)) == 1
    assert any(
        s.date == D(2027, 3, 26) and s.reason == "Langfredag → onsdag, allerede planlagt"
        for s in plan.skipped
    )


def test_an_occurrence_whose_own_day_was_taken_says_by_which() -> None:
    # Without a municipal calendar, Kristi himmelfartsdag (Thursday 6 May 2027) moves to
    # Friday 7 May, which is the Friday occurrence's own day: that one is dropped, and the
    # reason says why (it used to read 'None, allerede planlagt').
    from iba_workflow.calendar import WorkingCalendar
    from iba_workflow.planning.recurrence import weekly_occurrences

    held, skipped = weekly_occurrences(
        first=D(2027, 5, 3),
        last=D(2027, 5, 9),
        weekdays=["thu", "fri"],
        every_weeks=1,
        count=None,
        on_closed_day="next",
        calendar=WorkingCalendar(municipality="x"),
    )
    assert [o.date for o in held] == [D(2027, 5, 7)]
    assert [(k.date, k.reason) for k in skipped] == [
        (D(2027, 5, 7), "2027-05-07 er allerede brugt af gentagelsen fra 2027-05-06")
    ]
