"""Reminders on a tick (issue 15): a step whose reminder the tick has handled (sent, or
covered by the task's first mail) is not read again until its next reminder date, so a
later tick of the day reads no step; what is sent stays the same: every reminder date of
every open task once, on its day, to its assignee, also after the step is moved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from engine_helpers import at, citizen, definition, staff_for, tick_reading, yes_to_all
from sqlmodel import col, select

from iba_workflow import paths
from iba_workflow.engine import record_visitation, replan
from iba_workflow.store import tables as t
from iba_workflow.store.queries import group_id

START = dt.date(2027, 9, 13)  # a Monday
DAYS = 7 * 9  # every day of the course's first nine weeks


def _two_reminders(tmp_path: Path) -> Any:
    """HOP with two reminders per task, 3 and 1 working days before its date."""
    text = (paths.definitions_dir() / "hop.yaml").read_text(encoding="utf-8")
    one = "  reminders: [{working_days: 1}]\n"
    assert one in text
    path = tmp_path / "hop.yaml"
    path.write_text(
        text.replace(one, "  reminders: [{working_days: 3}, {working_days: 1}]\n"),
        encoding="utf-8",
    )
    return definition(path)


def _tick(session: Any, ctx: Any, clock: Any, day: dt.date, hour: int) -> int:
    """One tick at ``hour`` on ``day``; the step rows it read."""
    clock.set(at(day, hour))
    return tick_reading(session, ctx)


def _sent(session: Any) -> dict[str, dt.date]:
    """Every reminder written: message id → the day (Copenhagen) it was written."""
    rows = session.exec(
        select(t.OutboxRow.message_id, t.OutboxRow.created_at).where(t.OutboxRow.kind == "reminder")
    )
    return {m: at_.replace(tzinfo=at_.tzinfo or dt.UTC).astimezone(at(START).tzinfo).date()
            for m, at_ in rows}  # fmt: skip


def _owed(
    session: Any, staff: dict[str, int], after: dt.date, until: dt.date
) -> dict[str, dt.date]:
    """The reminders the record calls for: every reminder date in (after, until] of every
    open task, not past its date, to its assignee; message id → that date."""
    owed = {}
    steps = session.exec(
        select(t.StepInstanceRow).where(
            col(t.StepInstanceRow.status).in_(t.OPEN_STEP_STATUSES),
            t.StepInstanceRow.kind != "session",
        )
    )
    for row in steps:
        who = row.assigned_staff_id or staff.get(row.assignee_role)
        subject = group_id(row.group_key) if row.group_key else row.id
        for day in map(dt.date.fromisoformat, row.reminders):
            if who is not None and after < day <= until and day <= row.due_date:
                owed[f"reminder/{subject}/{day.isoformat()}/{who}"] = day
    return owed


def _enroll(session: Any, ctx: Any, clock: Any, d: Any, refs: list[str]) -> None:
    clock.set(at(START - dt.timedelta(days=14)))
    for ref in refs:
        citizen(session, ctx, ref)
        record_visitation(session, ctx, citizen_ref=ref, definition=d, accept=True,
                          answers=yes_to_all(d), start=START)  # fmt: skip
    session.commit()


def test_every_reminder_goes_once_on_its_day_and_a_later_tick_reads_no_step(
    session: Any, ctx: Any, clock: Any, tmp_path: Path
) -> None:
    d = _two_reminders(tmp_path)
    staff = staff_for(session, ctx, d)
    _enroll(session, ctx, clock, d, ["R-01", "R-02", "R-03"])
    first_day = START - dt.timedelta(days=13)
    last_day = START + dt.timedelta(days=DAYS)
    read_later: dict[dt.date, int] = {}
    day = first_day
    while day <= last_day:
        _tick(session, ctx, clock, day, 7)
        read_later[day] = _tick(session, ctx, clock, day, 12)
        day += dt.timedelta(days=1)
    owed = _owed(session, staff, first_day - dt.timedelta(days=1), last_day)
    sent = _sent(session)
    assert len(set(owed.values())) >= 8, "reminders on many days"
    assert sent == owed  # each once, on its own day (a missed one would come late)
    assert set(read_later.values()) == {0}, {d: n for d, n in read_later.items() if n}


def test_a_moved_step_is_reminded_again_on_its_new_dates(
    session: Any, ctx: Any, clock: Any, tmp_path: Path
) -> None:
    d = _two_reminders(tmp_path)
    staff = staff_for(session, ctx, d)
    _enroll(session, ctx, clock, d, ["M-01"])
    # a task of the third week on: sick from the day after its last reminder
    task = min(
        (r for r in session.exec(select(t.StepInstanceRow)) if r.kind != "session" and r.reminders
         and r.due_date > START + dt.timedelta(days=14) and not r.group_key),
        key=lambda r: (r.due_date, r.id),
    )  # fmt: skip
    task_id, pause_on = task.id, dt.date.fromisoformat(max(task.reminders))
    day = START - dt.timedelta(days=13)
    while day <= pause_on:
        _tick(session, ctx, clock, day, 7)
        day += dt.timedelta(days=1)
    handled = session.get(t.StepInstanceRow, task_id)
    assert handled.status in t.OPEN_STEP_STATUSES and handled.next_reminder is None
    before = _sent(session)
    assert sum(m.startswith(f"reminder/{task_id}/") for m in before) == 2
    [enrollment_id] = session.exec(select(t.EnrollmentRow.id)).all()
    # sick from tomorrow for two weeks: the task and every later step move
    replan(session, ctx, enrollment_id=enrollment_id,
           pause=(pause_on + dt.timedelta(days=1), pause_on + dt.timedelta(days=14)))  # fmt: skip
    session.commit()
    assert session.get(t.StepInstanceRow, task_id).due_date > pause_on + dt.timedelta(days=14)
    last_day = pause_on + dt.timedelta(days=35)
    while day <= last_day:
        _tick(session, ctx, clock, day, 7)
        assert _tick(session, ctx, clock, day, 12) == 0
        day += dt.timedelta(days=1)
    owed = _owed(session, staff, pause_on, last_day)
    sent = _sent(session)
    assert owed and set(owed) <= set(sent), sorted(set(owed) - set(sent))[:5]
    assert {m: sent[m] for m in owed} == owed  # on the new dates
    assert {m: sent[m] for m in before} == before  # nothing before the pause went again
    assert sum(m.startswith(f"reminder/{task_id}/") for m in sent) == 4  # and twice after
