"""Group steps (issue 12): a step held once per group is one event for the whole group —
one invitation per staff member, not one per enrollment — while every participant keeps
her own instance (her attendance); one woman leaving does not cancel it for the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine_helpers import citizen, definition, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow.engine import record_visitation, replan
from iba_workflow.store import tables as t

MONDAY = dt.date(2027, 9, 13)  # the group meets Thursday 7 October (every 4 weeks)


def _enroll(session: Any, ctx: Any, ref: str, start: dt.date) -> int:
    d = definition("hop")
    citizen(session, ctx, ref)
    result = record_visitation(
        session, ctx, citizen_ref=ref, definition=d, accept=True, answers=yes_to_all(d), start=start
    )
    assert result.enrollment_id is not None
    return result.enrollment_id


def _rows(session: Any, step_id: str) -> list[t.StepInstanceRow]:
    session.expire_all()
    return list(session.exec(select(t.StepInstanceRow).where(t.StepInstanceRow.step_id == step_id)))


def _outbox(session: Any, kind: str, step_ids: set[int]) -> list[t.OutboxRow]:
    rows = session.exec(select(t.OutboxRow).where(t.OutboxRow.kind == kind))
    return [r for r in rows if r.step_instance_id in step_ids]


def test_fifteen_women_get_one_company_presentation_and_staff_one_invitation(
    session: Any, ctx: Any
) -> None:
    staff_for(session, ctx, definition("hop"))
    # rolling intake: women start on three Mondays; the group meets every 4 weeks
    starts = [MONDAY] * 5 + [MONDAY + dt.timedelta(weeks=1)] * 5 + [MONDAY] * 5
    ids = [_enroll(session, ctx, f"HOP-{n:02d}", s) for n, s in enumerate(starts, 1)]
    rows = _rows(session, "virksomhedsoplaeg")
    assert {r.enrollment_id for r in rows} == set(ids)  # her own instance: her attendance
    groups = {r.group_key for r in rows}
    assert len(groups) == 1, groups  # one occurrence for all fifteen
    (row,) = {(r.due_date, r.due_time) for r in rows}
    assert row[0].weekday() == 3 and row[1] == dt.time(14, 30)  # Thursday 14:30
    invited = _outbox(session, "meeting_invitation", {r.id for r in rows})
    recipients = [m.recipient_staff_id for m in invited]
    assert recipients and len(recipients) == len(set(recipients))  # once per staff member
    assert len(recipients) < len(ids)


def test_one_woman_leaving_does_not_cancel_the_group_meeting(session: Any, ctx: Any) -> None:
    staff_for(session, ctx, definition("hop"))
    first = _enroll(session, ctx, "HOP-01", MONDAY)
    _enroll(session, ctx, "HOP-02", MONDAY)
    replan(session, ctx, enrollment_id=first, exit_on=MONDAY + dt.timedelta(days=2))
    rows = _rows(session, "virksomhedsoplaeg")
    assert sorted(r.status for r in rows) == ["cancelled", "planned"]
    cancelled = _outbox(session, "cancellation", {r.id for r in rows})
    assert cancelled == []  # the other woman still goes: staff calendars keep it
    ended = session.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "enrollment_ended")).all()
    assert all(not (set(m.payload["cancelled_steps"]) & {r.id for r in rows}) for m in ended)


def test_her_language_days_come_from_her_fixed_commitments_and_teaching_goes_around(
    session: Any, ctx: Any
) -> None:
    from iba_workflow.engine.own_days import replan_own_days
    from iba_workflow.schedule.model import Commitment, TimeRange
    from iba_workflow.schedule.records import add_commitment

    staff_for(session, ctx, definition("hop"))
    e = _enroll(session, ctx, "HOP-01", MONDAY)
    assert _rows(session, "sprogundervisning") == []  # her days are not known yet
    enrollment = session.get(t.EnrollmentRow, e)
    for weekday in (0, 2):  # Monday and Wednesday, entered after the visitation
        add_commitment(
            session,
            Commitment("sprogskole", TimeRange.parse("08:30-13:30"), weekday=weekday),
            at=ctx.now(),
            actor="test",
            citizen_id=enrollment.citizen_id,
        )
    assert replan_own_days(session, ctx, enrollment.citizen_id) > 0
    language = {r.due_date.weekday() for r in _rows(session, "sprogundervisning")}
    teaching = {
        r.due_date.weekday()
        for r in _rows(session, "undervisning")
        if r.status == "planned" and r.enrollment_id == e
    }
    assert language == {0, 2}
    assert teaching == {1, 3, 4}  # three days a week, none on her language days
