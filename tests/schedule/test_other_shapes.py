"""The shipped week shapes of De internationale (about 20 hours, 10 of them language
school on her own days) and Sunde kvinder (3 hours, all in the group), solved for a
cohort of 5 and of 4."""

from __future__ import annotations

import datetime as dt

from hop_group import FIRST_MONDAY

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.schedule.clashes import bookings_from_placements, find_clashes
from iba_workflow.schedule.model import (
    Commitment,
    GroupSession,
    Participant,
    Person,
    ScheduleProblem,
    Talk,
    TimeRange,
)
from iba_workflow.schedule.shapes import load_shape
from iba_workflow.schedule.solver import solve

CAL = calendar_for("hedensted", paths.calendars_dir())
DAYS = [(0, 2), (1, 3), (0, 3), (1, 2), (2, 4)]


def _problem(
    definition: str, size: int, commitments: list[tuple[Commitment, ...]]
) -> ScheduleProblem:
    shape = load_shape(definition)
    staff = sorted(
        {r for s in shape.sessions for r in s.staff_roles} | {t.staff_role for t in shape.talks}
    )
    people = tuple(
        Participant(
            Person(f"P-{n}", commitments[n]),
            shape.target_minutes,
            tuple(a.to_activity() for a in shape.activities),
            ("hold",),
        )
        for n in range(size)
    )
    return ScheduleProblem(
        FIRST_MONDAY,
        2,
        shape.opening_hours,
        people,
        tuple(Person(r) for r in staff),
        tuple(
            GroupSession(s.id, s.name, "hold", s.minutes, tuple(s.staff_roles))
            for s in shape.sessions
        ),
        tuple(
            Talk(t.id, t.name, p.person.ref, t.staff_role, t.minutes)
            for t in shape.talks
            for p in people
        ),
    )


def test_de_internationale_20_hours_with_10_hours_of_language_school_on_her_own_days() -> None:
    school = TimeRange(dt.time(8), dt.time(13))
    problem = _problem(
        "de_internationale",
        5,
        [
            tuple(
                Commitment("sprogskole", school, weekday=d, counts_toward_hours=True) for d in days
            )
            for days in DAYS
        ],
    )
    solution = solve(problem, CAL)
    assert {h.placed_minutes for h in solution.hours} == {20 * 60}
    sessions = [p for p in solution.placements if p.kind == "session"]
    assert len(sessions) == 2 * 3  # maths, English, social studies each week, whole cohort
    assert all(len(p.people) == 5 + 1 for p in sessions)
    assert find_clashes(bookings_from_placements(solution.placements)) == []


def test_sunde_kvinder_3_hours_all_in_the_group() -> None:
    problem = _problem(
        "sunde_kvinder",
        4,
        [
            (Commitment("sprogskole", TimeRange(dt.time(9), dt.time(15)), weekday=n),)
            for n in range(4)
        ],
    )
    solution = solve(problem, CAL)
    assert {h.placed_minutes for h in solution.hours} == {3 * 60}
    fridays = {p.start.weekday() for p in solution.placements if p.kind == "session"}
    assert fridays == {4}  # the only day none of the four has language school
