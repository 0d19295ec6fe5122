"""A HOP group as plain data: 15 women on rolling intake, language school on 5 different
day patterns, 25 hours a week, an IBA and a role model. The week is the shipped one: the
activities, hours and talks of ``schedules/hop.yaml``, the group sessions are the group
steps of ``definitions/hop.yaml`` (``held: per_group``: the company presentation and
visit, every 4 weeks) and the language school is its ``own_days`` label. Used by the tests
and by bench/bench_schedule.py."""

from __future__ import annotations

import datetime as dt

from iba_workflow import paths
from iba_workflow.definition import load_definition
from iba_workflow.schedule.model import (
    Commitment,
    GroupSession,
    Participant,
    Person,
    ScheduleProblem,
    Talk,
    TimeRange,
)
from iba_workflow.schedule.shapes import week_shape

HOP = load_definition(paths.PROJECT_ROOT / "definitions" / "hop.yaml")
SHAPE = week_shape("hop")  # schedules/hop.yaml + the definition's group steps

FIRST_MONDAY = dt.date(2027, 3, 1)  # 13 weeks: Easter and Kristi himmelfartsdag inside
WEEKS = 13
OPENING = TimeRange(dt.time(8, 0), dt.time(16, 0))
SPROGSKOLE = next(s.own_days for s in HOP.steps if s.own_days)  # her own days' label

# Five day patterns of the language school, 12 hours a week each.
PATTERNS: dict[str, tuple[tuple[int, ...], TimeRange]] = {
    "man+ons": ((0, 2), TimeRange(dt.time(8, 30), dt.time(14, 30))),
    "tirs+tors": ((1, 3), TimeRange(dt.time(8, 30), dt.time(14, 30))),
    "man+tors": ((0, 3), TimeRange(dt.time(9, 0), dt.time(15, 0))),
    "tirs+ons": ((1, 2), TimeRange(dt.time(8, 0), dt.time(14, 0))),
    "man-ons eftermiddag": ((0, 1, 2), TimeRange(dt.time(12, 0), dt.time(16, 0))),
}

HOP_ACTIVITIES = tuple(a.to_activity() for a in SHAPE.activities)


def language_school(pattern: str, *, valid_from: dt.date | None = None) -> tuple[Commitment, ...]:
    days, time = PATTERNS[pattern]
    return tuple(
        Commitment(SPROGSKOLE, time, weekday=d, valid_from=valid_from, counts_toward_hours=True)
        for d in days
    )


def participant_ref(n: int) -> str:
    return f"HOP-{n:02d}"


def hop_participant(
    n: int, pattern: str, *, enrolled: tuple[dt.date, dt.date | None] | None = None
) -> Participant:
    return Participant(
        person=Person(participant_ref(n), commitments=language_school(pattern), enrolled=enrolled),
        target_minutes=SHAPE.target_minutes,
        activities=HOP_ACTIVITIES,
        groups=("hop-1",),
    )


def hop_group(
    size: int = 15, *, weeks: int = WEEKS, group: str = "hop-1", prefix: str = ""
) -> ScheduleProblem:
    """``size`` women, patterns in turn; the last two join in week 3 and the first one
    leaves after week 10 (rolling intake)."""
    names = list(PATTERNS)
    people = []
    for n in range(1, size + 1):
        enrolled = None
        if n > size - 2:
            enrolled = (FIRST_MONDAY + dt.timedelta(weeks=2), None)
        elif n == 1:
            enrolled = (FIRST_MONDAY, FIRST_MONDAY + dt.timedelta(weeks=10, days=-3))
        p = hop_participant(n, names[(n - 1) % len(names)], enrolled=enrolled)
        ref = prefix + p.person.ref
        people.append(
            Participant(
                Person(ref, p.person.commitments, enrolled=enrolled),
                p.target_minutes,
                p.activities,
                (group,),
            )
        )
    iba = Person(
        f"{prefix}IBA",
        hours={d: TimeRange(dt.time(8, 0), dt.time(16, 0)) for d in range(5)},
        commitments=(Commitment("teammøde", TimeRange(dt.time(9, 0), dt.time(10, 0)), weekday=0),),
    )
    role_model = Person(f"{prefix}ROLLEMODEL")
    by_role = {"iba": iba.ref, "rollemodel": role_model.ref}
    return ScheduleProblem(
        first_monday=FIRST_MONDAY,
        weeks=weeks,
        opening=OPENING,
        participants=tuple(people),
        staff=(iba, role_model),
        sessions=tuple(
            GroupSession(
                s.id,
                s.name,
                group,
                s.minutes,
                tuple(by_role[r] for r in s.staff_roles),
                s.per_week,
                s.every_weeks,
            )
            for s in SHAPE.sessions
        ),
        talks=tuple(
            Talk(t.id, t.name, p.person.ref, by_role[t.staff_role], t.minutes)
            for t in SHAPE.talks
            for p in people
        ),
    )
