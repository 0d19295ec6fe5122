"""The cheap paths of completing a step and writing a plan (issue 15) keep the engine's
contracts: the definition an enrollment is pinned to, what a completion writes and holds
after a rollback, the ids and notifications of a new plan, the outbox without doubles."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import DEFINITION_FILES, at, citizen, definition, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow.definition import Definition, content_hash
from iba_workflow.engine import complete_step, record_visitation
from iba_workflow.engine import definitions as stored
from iba_workflow.engine.apply import notify
from iba_workflow.errors import InvalidInput
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 1)


def _enroll(session: Any, ctx: Any, d: Definition, ref: str = "B-1") -> t.EnrollmentRow:
    staff_for(session, ctx, d)
    citizen(session, ctx, ref)
    result = record_visitation(
        session, ctx, citizen_ref=ref, definition=d, accept=True, answers=yes_to_all(d), start=START
    )
    enrollment = session.get(t.EnrollmentRow, result.enrollment_id)
    assert enrollment is not None
    return enrollment


def _steps(session: Any, enrollment_id: int) -> list[t.StepInstanceRow]:
    return list(
        session.exec(
            select(t.StepInstanceRow)
            .where(t.StepInstanceRow.enrollment_id == enrollment_id)
            .order_by(t.StepInstanceRow.id)
        )
    )


def test_an_enrollment_gets_its_own_version_by_content_whatever_database_came_first(
    session: Any, ctx: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    d = definition("fagmentor")
    other = d.model_copy(update={"capacity": d.capacity + 7})  # same id and version
    mine = _enroll(session, ctx, d)
    target = tmp_path / "other.sqlite3"
    shutil.copyfile(sqlite_template, target)
    engine = make_engine(f"sqlite:///{target}")
    try:
        with session_factory(engine)() as s2:
            theirs = _enroll(s2, ctx, other)
            assert stored.definition_of(s2, theirs).capacity == d.capacity + 7
            assert stored.definition_of(session, mine).capacity == d.capacity
            stored._parsed.clear()  # a process that has seen neither: read from the rows
            assert stored.definition_of(s2, theirs).capacity == d.capacity + 7
            assert content_hash(stored.definition_of(session, mine)) == content_hash(d)
    finally:
        engine.dispose()


def _anchors_on_completion(d: Definition, step_id: str) -> bool:  # the scan it replaces
    anchor = f"completion.{step_id}"
    for s in d.steps:
        anchors = [s.when.anchor] if s.when is not None else []
        if s.repeat is not None:
            anchors += [b.anchor for b in (s.repeat.start, s.repeat.until) if b is not None]
        if anchor in anchors:
            return True
    return False


@pytest.mark.parametrize("path", DEFINITION_FILES, ids=[p.stem for p in DEFINITION_FILES])
def test_the_steps_dates_anchor_on_are_the_ones_a_scan_finds(path: Path) -> None:
    d = definition(path)
    anchored = stored.anchored_on_completion(d)
    assert {s.id for s in d.steps if _anchors_on_completion(d, s.id)} == anchored
    assert stored.anchored_on_completion(d) is anchored  # once per definition


def test_a_completion_is_written_at_once_and_a_rollback_takes_it_back(
    session: Any, ctx: Any, clock: Any
) -> None:
    e = _enroll(session, ctx, definition("fagmentor"))
    session.commit()
    step = next(s for s in _steps(session, e.id) if s.key == "rekruttering")
    clock.set(at(step.due_date))
    complete_step(session, ctx, step_instance_id=step.id, data={"note": "match"})
    assert step.status == "completed" and step not in session.dirty
    done = session.exec(select(t.CompletionRow)).one()
    assert (done.step_instance_id, done.data, done.skipped, done.outcome) == (
        step.id,
        {"note": "match"},
        False,
        None,
    )
    line = session.exec(select(t.AuditRow).where(t.AuditRow.action == "step_completed")).one()
    assert line.details == {
        "step_key": "rekruttering",
        "channel": "cli",
        "outcome": None,
        "fields": ["note"],
    }
    session.rollback()
    assert step.status == "planned"  # read again: the UPDATE went with the transaction
    assert not session.exec(select(t.CompletionRow)).all()
    assert not session.exec(select(t.AuditRow).where(t.AuditRow.action == "step_completed")).all()


def test_a_refused_measurement_writes_nothing(session: Any, ctx: Any, clock: Any) -> None:
    d = definition("hop")
    e = _enroll(session, ctx, d)
    spec = next(s for s in d.steps if s.kind == "measurement")
    row = next(s for s in _steps(session, e.id) if s.step_id == spec.id and not s.depends_on)
    dims = [x for x in spec.dimensions if not x.health]
    data: dict[str, Any] = {x.id: x.scale.min for x in dims}
    data[dims[-1].id] = dims[-1].scale.max + 1  # the last value is out of range
    clock.set(at(row.due_date))
    with pytest.raises(InvalidInput, match="must lie in"):
        complete_step(session, ctx, step_instance_id=row.id, data=data)
    assert not session.exec(select(t.MeasurementRow)).all()
    assert not session.exec(select(t.CompletionRow)).all()
    assert row.status == "planned"


def test_a_new_plan_gets_ids_in_plan_order_and_its_invitations_name_them(
    session: Any, ctx: Any
) -> None:
    d = definition("fagmentor")
    citizen(session, ctx, "B-1")
    staff_for(session, ctx, d)
    result = record_visitation(
        session,
        ctx,
        citizen_ref="B-1",
        definition=d,
        accept=True,
        answers=yes_to_all(d),
        start=START,
    )
    rows = _steps(session, result.enrollment_id or 0)
    added = [line.key for line in result.steps if line.change == "added"]
    assert [r.key for r in rows] == added  # inserted in the order of the impact lines
    assert all(r.status == "planned" and r.revision == 1 for r in rows)
    by_id = {r.id: r for r in rows}
    invitations = session.exec(
        select(t.OutboxRow).where(t.OutboxRow.kind == "meeting_invitation")
    ).all()
    assert invitations
    for mail in invitations:
        row = by_id[mail.step_instance_id]
        assert mail.payload["step_instance_id"] == row.id
        assert mail.payload["step_key"] == row.key
        assert mail.payload["due_date"] == row.due_date.isoformat()
        assert mail.message_id == f"meeting_invitation/{row.id}/r1/{mail.recipient_staff_id}"
        assert (mail.status, mail.attempts, mail.enrollment_id) == ("new", 0, row.enrollment_id)


def test_a_notification_is_written_once_per_message_id(session: Any, ctx: Any) -> None:
    e = _enroll(session, ctx, definition("fagmentor"))
    row = _steps(session, e.id)[0]
    staff = sorted(staff_for(session, ctx, definition("fagmentor")).values())
    assert notify(session, ctx, row, "reminder", [staff[0], staff[1], staff[0]], tag="x") == 2
    assert notify(session, ctx, row, "reminder", [staff[1], staff[2]], tag="x") == 1
    sent = session.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "reminder")).all()
    assert sorted(m.recipient_staff_id for m in sent) == staff[:3]
