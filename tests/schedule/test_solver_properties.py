"""Properties of the solver on random small weeks (hypothesis): whatever the fixed days,
nobody is booked twice, nothing lands on a commitment, a closed day or outside the
opening and working hours, a group session holds all its members, and every shortfall
has a reason."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.schedule.clashes import bookings_from_placements, find_clashes
from iba_workflow.schedule.grid import TZ
from iba_workflow.schedule.model import (
    Activity,
    Commitment,
    GroupSession,
    Participant,
    Person,
    ScheduleProblem,
    Talk,
    TimeRange,
)
from iba_workflow.schedule.solver import solve

CAL = calendar_for("hedensted", paths.calendars_dir())
OPENING = TimeRange(dt.time(8), dt.time(16))
MONDAYS = [dt.date(2027, 3, 1), dt.date(2027, 3, 22), dt.date(2027, 5, 3)]  # 2 with holidays

hours = st.integers(8, 15).flatmap(
    lambda h: st.integers(h + 1, 16).map(lambda e: TimeRange(dt.time(h), dt.time(e)))
)
commitment = st.builds(
    lambda label, time, day, counts: Commitment(
        label, time, weekday=day, counts_toward_hours=counts
    ),
    st.sampled_from(["sprogskole", "børnepasning", "job"]),
    hours,
    st.integers(0, 4),
    st.booleans(),
)


@st.composite
def problems(draw: st.DrawFn) -> ScheduleProblem:
    n = draw(st.integers(1, 5))
    people = tuple(
        Participant(
            Person(f"P{i}", tuple(draw(st.lists(commitment, max_size=4)))),
            target_minutes=draw(st.sampled_from([180, 600, 1200, 1500])),
            activities=(
                Activity("u", "Undervisning", draw(st.sampled_from([60, 120, 180])), fill=True),
            ),
            groups=("g",),
        )
        for i in range(n)
    )
    staff = Person(
        "S", hours={d: draw(hours) for d in draw(st.sets(st.integers(0, 4), min_size=1))}
    )
    return ScheduleProblem(
        draw(st.sampled_from(MONDAYS)),
        1,
        OPENING,
        people,
        (staff,),
        (GroupSession("m", "Fællesmøde", "g", draw(st.sampled_from([60, 120])), ("S",)),),
        tuple(Talk("t", "Samtale", p.person.ref, "S", 30) for p in people),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_solver_invariants(problem: ScheduleProblem) -> None:
    solution = solve(problem, CAL)
    placed = [p for p in solution.placements if p.kind != "commitment"]
    clashes = find_clashes(bookings_from_placements(solution.placements))
    # two overlapping fixed commitments are the input's clash (and reported as such);
    # nothing the solver placed may be in one
    assert [c for c in clashes if not (c.first.fixed and c.second.fixed)] == []
    assert all("begge er faste" in c.proposal for c in clashes)
    people = {p.person.ref: p.person for p in problem.participants} | {
        s.ref: s for s in problem.staff
    }
    for p in placed:
        start, end = p.start.astimezone(TZ), p.end.astimezone(TZ)
        assert CAL.is_working_day(start.date())
        assert OPENING.start <= start.time() and end.time() <= OPENING.end
        for ref in p.people:
            person = people[ref]
            if person.hours is not None:
                h = person.hours.get(start.weekday())
                assert h is not None and h.start <= start.time() and end.time() <= h.end
            for c in person.commitments:
                if c.occurs_on(start.date()):
                    assert end.time() <= c.time.start or start.time() >= c.time.end
        if p.kind == "session":
            assert set(p.people) == {*(x.person.ref for x in problem.participants), "S"}
    for h in solution.hours:
        assert h.placed_minutes >= h.target_minutes or h.reason
