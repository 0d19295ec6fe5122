"""Escalations on a later tick (issue 15): an overdue step whose escalation is in the
outbox is not read again, however many there are; what the engine writes stays the same:
each escalation once, to whoever holds the role that day (an assignment made or a cover
begun since is told, as before)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine_helpers import at, citizen, definition, staff_for, tick_reading, yes_to_all
from sqlalchemy import func, literal
from sqlmodel import col, select

from iba_workflow.engine import enqueue_due_notifications, record_visitation
from iba_workflow.engine.recipients import RecipientBook
from iba_workflow.store import tables as t
from iba_workflow.store.queries import _GroupId, escalations_due, group_id

MONDAY = dt.date(2027, 9, 13)


def _enroll(session: Any, ctx: Any, clock: Any, refs: list[str], start: dt.date) -> None:
    clock.set(at(start - dt.timedelta(days=14)))
    for ref in refs:
        citizen(session, ctx, ref)
        d = definition("hop")
        record_visitation(session, ctx, citizen_ref=ref, definition=d, accept=True,
                          answers=yes_to_all(d), start=start)  # fmt: skip
    session.commit()


def _outbox(session: Any, kind: str | None = None) -> int:
    query = select(func.count()).select_from(t.OutboxRow)
    if kind is not None:
        query = query.where(t.OutboxRow.kind == kind)
    return int(session.exec(query).one())


def _ticks(session: Any, ctx: Any, clock: Any, day: dt.date) -> tuple[int, int, int]:
    """The day's first tick, then a later one: (escalations written by the first, step
    rows the later one reads, outbox rows the later one writes)."""
    clock.set(at(day, 7))
    enqueue_due_notifications(session, ctx)
    session.commit()
    escalated = _outbox(session, "escalation")
    before = _outbox(session)
    clock.set(at(day, 9))
    read = tick_reading(session, ctx)
    return escalated, read, _outbox(session) - before


def test_a_later_tick_reads_none_of_the_overdue_steps_it_has_escalated(
    session: Any, ctx: Any, clock: Any
) -> None:
    staff_for(session, ctx, definition("hop"))
    _enroll(session, ctx, clock, ["E-01", "E-02"], MONDAY)
    day = MONDAY + dt.timedelta(weeks=10)
    few, read_few, wrote = _ticks(session, ctx, clock, day)
    assert few > 0 and wrote == 0
    _enroll(session, ctx, clock, [f"E-{n:02d}" for n in range(3, 9)], MONDAY)
    many, read_many, wrote = _ticks(session, ctx, clock, day + dt.timedelta(days=1))
    assert many >= 3 * few and wrote == 0  # four times the overdue steps, all escalated
    assert read_few == read_many == 0, (read_few, read_many)  # (reminders: test_reminder_reads.py)


def _expected(session: Any, ctx: Any) -> set[str]:
    """The message id of every escalation the record calls for today, as the engine has
    always worked it out in Python: every open overdue step, its addressee today."""
    book = RecipientBook(session, on=ctx.today())
    found = set()
    for row in escalations_due(session, ctx.today()):
        who = book.of(row.enrollment_id).for_role(row.escalation_role)
        subject = group_id(row.group_key) if row.group_key else row.id
        if who is not None:
            found.add(f"escalation/{subject}/r{row.revision}/{who}")
    return found


def test_an_escalation_goes_to_whoever_holds_the_role_that_day_once(
    session: Any, ctx: Any, clock: Any
) -> None:
    staff = staff_for(session, ctx, definition("hop"))
    _enroll(session, ctx, clock, ["F-01", "F-02"], MONDAY)
    day = MONDAY + dt.timedelta(weeks=10)
    clock.set(at(day, 7))
    enqueue_due_notifications(session, ctx)
    session.commit()
    escalated = {
        m.step_instance_id: m.recipient_staff_id
        for m in session.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "escalation"))
    }
    assert set(escalated.values()) == {staff["iba"]}
    groups = session.exec(
        select(t.StepInstanceRow.id).where(
            col(t.StepInstanceRow.id).in_(escalated), col(t.StepInstanceRow.group_key).is_not(None)
        )
    ).all()
    assert groups, "a group meeting is escalated too (its message id names the group)"
    first, _ = sorted(
        session.exec(select(t.EnrollmentRow.id).order_by(col(t.EnrollmentRow.id))).all()
    )
    other = session.get(t.StaffRow, staff["underviser"])
    # the next day: F-01 gets her own IBA, and the IBA is covered by the role model
    session.add(t.EnrollmentStaffRow(enrollment_id=first, role="iba", staff_id=other.id))
    next_day = day + dt.timedelta(days=1)
    session.add(
        t.StaffCoverRow(
            staff_id=staff["iba"],
            cover_staff_id=staff["rollemodel"],
            first_day=next_day,
            last_day=next_day,
            created_at=at(day),
        )
    )
    session.commit()
    clock.set(at(next_day, 7))
    before = {m for m in session.exec(select(t.OutboxRow.message_id))}
    enqueue_due_notifications(session, ctx)
    session.commit()
    expected = _expected(session, ctx)
    written = {m for m in session.exec(select(t.OutboxRow.message_id))}
    assert expected <= written
    new = {m for m in written - before if m.startswith("escalation/")}
    assert new == expected - before
    to = {int(m.rsplit("/", 1)[1]) for m in new}
    assert to == {other.id, staff["rollemodel"]}, to  # her own IBA; the cover for the rest
    clock.set(at(next_day, 9))
    enqueue_due_notifications(session, ctx)  # a later tick: nothing twice
    session.commit()
    assert {m for m in session.exec(select(t.OutboxRow.message_id))} == written


def test_the_database_names_a_group_as_the_engine_does(session: Any) -> None:
    for key in ("virksomhedsoplaeg/2027-10-07", "hold/Ærø-Søby/14:30"):
        assert session.exec(select(_GroupId(literal(key)))).one() == group_id(key)


def test_the_steps_becoming_due_are_all_found_batch_after_batch(
    session: Any, ctx: Any, clock: Any, monkeypatch: Any
) -> None:
    from iba_workflow.store import queries

    staff_for(session, ctx, definition("hop"))
    _enroll(session, ctx, clock, ["G-01", "G-02", "G-03"], MONDAY)
    day = MONDAY + dt.timedelta(weeks=3)
    whole = [row.id for row in queries.due_steps(session, day)]
    assert len(whole) > 7
    monkeypatch.setattr(queries, "BATCH", 3)
    assert [row.id for row in queries.due_steps(session, day)] == whole
