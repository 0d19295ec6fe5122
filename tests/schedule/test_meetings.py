"""Meetings in the record: past the deadline the first proposal still free is booked; a
proposal someone has become busy at is refused, with a sentence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from schedule_world import START, at, context, enrolled, staff

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.schedule.meeting_store import book_due_meetings, book_meeting, propose_meeting
from iba_workflow.schedule.model import Commitment, ScheduleError, TimeRange
from iba_workflow.schedule.records import add_commitment

CAL = calendar_for("hedensted", paths.calendars_dir())


@pytest.fixture
def session(open_session: Any) -> Any:
    with open_session() as s:
        yield s


def test_deadline_books_the_first_proposal_still_free_and_a_busy_one_is_refused(
    session: Any,
) -> None:
    ctx = context()
    iba = staff(session, ctx, "iba")
    enrollment = enrolled(session, ctx, "FM-09")
    now = ctx.now()
    meeting = propose_meeting(
        session,
        title="Midtvejssamtale",
        minutes=60,
        staff_ids=[iba],
        enrollment_id=enrollment,
        earliest=at(START, 8),
        calendar=CAL,
        now=now,
        actor="test",
        deadline=at(START - dt.timedelta(days=3), 12),
    )
    assert [dt.datetime.fromisoformat(p) for p in meeting.proposals] == [
        at(START, 8),
        at(START, 9),
        at(START, 10),
    ]
    # The IBA gets a fixed meeting at 08:00-09:00 on that Monday after the proposal.
    add_commitment(
        session,
        Commitment("ledermøde", TimeRange(dt.time(8), dt.time(9)), on=START),
        at=now,
        actor="test",
        staff_id=iba,
    )
    session.commit()
    with pytest.raises(ScheduleError, match="no longer free at proposal 1") as info:
        book_meeting(session, meeting.id, choice=1, now=now, actor="test")
    assert "propose the meeting again" in (info.value.hint or "")
    session.rollback()

    assert (
        book_due_meetings(session, now=at(START - dt.timedelta(days=4)), actor="t") == []
    )  # before the deadline: nothing
    booked = book_due_meetings(session, now=at(START - dt.timedelta(days=2)), actor="t")
    session.commit()
    assert [(m.id, m.start) for m in booked] == [(meeting.id, at(START, 9))]
    # A second meeting for the same attendees now avoids the booked hour.
    second = propose_meeting(
        session,
        title="Opfølgning",
        minutes=60,
        staff_ids=[iba],
        enrollment_id=enrollment,
        earliest=at(START, 8),
        calendar=CAL,
        now=now,
        actor="test",
    )
    assert dt.datetime.fromisoformat(second.proposals[0]) == at(START, 10)


def test_a_planned_meeting_of_the_plan_is_busy_time_for_its_staff_and_the_citizen(
    session: Any,
) -> None:
    ctx = context()
    iba = staff(session, ctx, "iba")
    other = staff(session, ctx, "diaetist")  # holds no role in the fagmentor plan
    enrollment = enrolled(session, ctx, "FM-10")  # its opstartsmøde: Thu 25 Feb 10:00, the IBA
    thursday = dt.date(2027, 2, 25)

    def first_three(staff_id: int, citizen_attends: bool) -> list[dt.datetime]:
        meeting = propose_meeting(
            session,
            title="Andet møde",
            minutes=60,
            staff_ids=[staff_id],
            enrollment_id=enrollment,
            citizen_attends=citizen_attends,
            earliest=at(thursday, 8),
            calendar=CAL,
            now=ctx.now(),
            actor="test",
        )
        return [dt.datetime.fromisoformat(p) for p in meeting.proposals]

    free_at_10 = [at(thursday, 8), at(thursday, 9), at(thursday, 10)]
    not_at_10 = [at(thursday, 8), at(thursday, 9), at(thursday, 11)]
    assert first_three(other, citizen_attends=False) == free_at_10
    assert first_three(other, citizen_attends=True) == not_at_10  # the citizen is at it
    assert first_three(iba, citizen_attends=False) == not_at_10  # so is the IBA
