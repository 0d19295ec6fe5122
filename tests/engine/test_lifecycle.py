"""Re-planning, idempotent completion, capacity and definition versions, as the IBA
would notice them: dates in the plan, mails in the outbox, statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_helpers import at, citizen, definition, snapshot, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow import paths
from iba_workflow.definition import parse_definition
from iba_workflow.engine import (
    complete_step,
    enqueue_due_notifications,
    migrate_enrollments,
    record_consent,
    record_visitation,
    replan,
)
from iba_workflow.errors import InvalidInput, InvalidTransition
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 1)


def _enroll(session: Any, ctx: Any, ref: str = "B-1", name: str = "fagmentor") -> int:
    d = definition(name)
    staff_for(session, ctx, d)
    citizen(session, ctx, ref)
    result = record_visitation(
        session, ctx, citizen_ref=ref, definition=d, accept=True, answers=yes_to_all(d), start=START
    )
    assert result.enrollment_id is not None
    return result.enrollment_id


def _plan(session: Any, enrollment_id: int) -> dict[str, t.StepInstanceRow]:
    session.expire_all()
    rows = session.exec(
        select(t.StepInstanceRow).where(t.StepInstanceRow.enrollment_id == enrollment_id)
    ).all()
    return {r.key: r for r in rows}


def _mails(session: Any, kind: str) -> list[t.OutboxRow]:
    return list(session.exec(select(t.OutboxRow).where(t.OutboxRow.kind == kind)))


def test_accepted_visitation_persists_the_plan_and_invites_to_meetings(
    session: Any, ctx: Any
) -> None:
    e = _enroll(session, ctx)
    plan = _plan(session, e)
    assert plan["opstartsmoede"].due_date == dt.date(2027, 2, 25)  # start −2 working days
    assert plan["evaluering"].due_time == dt.time(10, 0)
    assert all(r.status == "planned" for r in plan.values())
    invited = {
        (m.payload["step_key"], m.recipient_staff_id) for m in _mails(session, "meeting_invitation")
    }
    staff = staff_for(session, ctx, definition("fagmentor"))
    assert ("opstartsmoede", staff["fagmentor"]) in invited  # an attendee, not only the assignee
    assert not _mails(session, "new_task")  # tasks are announced when due


def test_due_steps_become_tasks_reminders_and_escalations_once(
    session: Any, ctx: Any, clock: Any
) -> None:
    e = _enroll(session, ctx)
    step = _plan(session, e)["rekruttering"]

    def keys(kind: str) -> list[str]:  # this step's mails of a kind
        return [k for m in _mails(session, kind) if (k := m.payload["step_key"]) == step.key]

    reminder = dt.date.fromisoformat(step.reminders[0])
    told = reminder - dt.timedelta(days=1)
    while told.weekday() >= 5:
        told -= dt.timedelta(days=1)
    clock.set(at(told - dt.timedelta(days=1)))
    enqueue_due_notifications(session, ctx)
    assert "rekruttering" not in keys("new_task"), "not yet actionable"
    clock.set(at(told))  # the weekday before the first reminder: "Ny opgave" comes first
    enqueue_due_notifications(session, ctx)
    assert keys("new_task") == ["rekruttering"]
    assert _plan(session, e)["rekruttering"].status == "due" and not keys("reminder")
    clock.set(at(reminder))
    enqueue_due_notifications(session, ctx)
    assert keys("reminder") == ["rekruttering"]
    clock.set(at(step.due_date))
    enqueue_due_notifications(session, ctx)
    enqueue_due_notifications(session, ctx)  # twice the same day: nothing more
    assert keys("new_task") == ["rekruttering"] and keys("reminder") == ["rekruttering"]
    clock.set(at(step.escalation_date))
    enqueue_due_notifications(session, ctx)
    escalated = _mails(session, "escalation")
    assert [m.payload["escalated_to_role"] for m in escalated] == ["iba"]


def test_completing_twice_changes_nothing_and_other_data_is_refused(
    session: Any, ctx: Any, clock: Any
) -> None:
    e = _enroll(session, ctx)
    step = _plan(session, e)["rekruttering"]
    clock.set(at(step.due_date))
    first = complete_step(session, ctx, step_instance_id=step.id, data={"note": "match"})
    assert not first.already_done
    before = snapshot(session)
    again = complete_step(session, ctx, step_instance_id=step.id, data={"note": "match"})
    assert again.already_done and snapshot(session) == before
    with pytest.raises(InvalidTransition, match=f"completed on {step.due_date} with other data"):
        complete_step(session, ctx, step_instance_id=step.id, data={"note": "other"})


def test_pause_moves_future_steps_by_its_working_days_and_dry_run_writes_nothing(
    session: Any, ctx: Any
) -> None:
    e = _enroll(session, ctx)
    before_plan = {k: r.due_date for k, r in _plan(session, e).items()}
    before = snapshot(session)
    pause = (dt.date(2027, 4, 5), dt.date(2027, 4, 9))  # Monday–Friday: 5 working days
    preview = replan(session, ctx, enrollment_id=e, pause=pause, dry_run=True)
    assert snapshot(session) == before
    moved = {line.key: (line.old_date, line.new_date) for line in preview.lines}
    assert moved["midtvejssamtale"] == (dt.date(2027, 4, 14), dt.date(2027, 4, 21))
    assert "opstartsmoede" not in moved  # before the pause
    replan(session, ctx, enrollment_id=e, pause=pause)
    after = _plan(session, e)
    assert {
        k: (before_plan[k], r.due_date) for k, r in after.items() if r.due_date != before_plan[k]
    } == moved
    changed = {m.payload["step_key"] for m in _mails(session, "change")}
    assert changed == {"midtvejssamtale", "evaluering"}  # meetings already announced


def test_early_exit_cancels_the_future_and_tells_the_assignees(session: Any, ctx: Any) -> None:
    e = _enroll(session, ctx)
    result = replan(session, ctx, enrollment_id=e, exit_on=dt.date(2027, 4, 1))
    plan = _plan(session, e)
    assert all(r.status == "cancelled" for r in plan.values() if r.due_date >= dt.date(2027, 4, 1))
    assert {line.change for line in result.lines} == {"cancelled"}
    told = {m.payload["step_key"] for m in _mails(session, "cancellation")}
    assert {"evaluering", "midtvejssamtale", "mentor_opfoelgning#5"} <= told
    enrollment = session.get(t.EnrollmentRow, e)
    assert (enrollment.status, enrollment.ended_on) == ("exited", dt.date(2027, 4, 1))


def test_extension_and_moved_start(session: Any, ctx: Any) -> None:
    e = _enroll(session, ctx)
    old = {k: r.due_date for k, r in _plan(session, e).items()}
    replan(session, ctx, enrollment_id=e, extend_weeks=4)
    new = _plan(session, e)
    assert new["evaluering"].due_date - old["evaluering"] == dt.timedelta(weeks=4)
    # The mentor's weekly follow-up runs to midway, which 4 more weeks move by 2 weeks;
    # the every-other-week follow-up after it gets the rest.
    assert len([k for k in new if k.startswith("mentor_opfoelgning#")]) == 2 + len(
        [k for k in old if k.startswith("mentor_opfoelgning#")]
    )
    assert len([k for k in new if k.startswith("mentor_opfoelgning_aftagende#")]) > len(
        [k for k in old if k.startswith("mentor_opfoelgning_aftagende#")]
    )
    replan(session, ctx, enrollment_id=e, new_start=dt.date(2027, 3, 8))
    assert _plan(session, e)["mentor_i_virksomheden#1"].due_date == dt.date(2027, 3, 8)


def test_rolling_intake_over_capacity_waits_and_is_admitted_when_a_place_frees(
    session: Any, ctx: Any
) -> None:
    d = definition("fagmentor")
    first = [_enroll(session, ctx, f"B-{n}") for n in range(d.capacity)]
    citizen(session, ctx, "B-late")
    late = record_visitation(
        session,
        ctx,
        citizen_ref="B-late",
        definition=d,
        accept=True,
        answers=yes_to_all(d),
        start=START,
    )
    assert late.decision == "waiting" and not _plan(session, late.enrollment_id)
    replan(session, ctx, enrollment_id=first[0], exit_on=dt.date(2027, 3, 10))
    admitted = session.get(t.EnrollmentRow, late.enrollment_id)
    session.refresh(admitted)
    assert admitted.status == "active" and _plan(session, late.enrollment_id)


def test_cohort_participants_share_the_common_start(session: Any, ctx: Any, clock: Any) -> None:
    d = definition("de_internationale")
    cohort = d.intake.cohorts[0]
    clock.set(at(cohort.start - dt.timedelta(days=28)))
    staff_for(session, ctx, d)
    starts = set()
    for n in range(2):
        citizen(session, ctx, f"B-{n}")
        result = record_visitation(
            session,
            ctx,
            citizen_ref=f"B-{n}",
            definition=d,
            accept=True,
            answers=yes_to_all(d),
            cohort=cohort.id,
        )
        starts.add(result.start)
    assert starts == {cohort.start}
    assert len(session.exec(select(t.CohortRow)).all()) == 1


def _fagmentor_v3() -> Any:
    text = (paths.definitions_dir() / "fagmentor.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 2", "version: 3", 1)
    text = text.replace(
        'when: {anchor: midway, shift: nearest, time: "10:00"}',
        'when: {anchor: midway, shift: nearest, time: "13:00"}',
    )
    text = text.replace("      count: 3\n", "      count: 2\n")
    return parse_definition(text, known_templates=paths.known_templates())


def test_definition_version_migration_is_previewed_then_applied(session: Any, ctx: Any) -> None:
    e = _enroll(session, ctx)
    v2 = _fagmentor_v3()  # the next version of the shipped one
    assert v2.version == 3
    previews = migrate_enrollments(session, ctx, definition=v2)
    changes = {line.key: line.change for line in previews[0].lines}
    assert changes == {"midtvejssamtale": "moved", "mentor_i_virksomheden#3": "cancelled"}
    enrollment = session.get(t.EnrollmentRow, e)
    session.refresh(enrollment)
    assert enrollment.definition_version == 2  # a preview moves nobody
    assert _plan(session, e)["midtvejssamtale"].due_time == dt.time(10, 0)
    migrate_enrollments(session, ctx, definition=v2, apply=True)
    session.refresh(enrollment)
    assert (enrollment.definition_version, enrollment.content_hash) != (2, "")
    plan = _plan(session, e)
    assert plan["midtvejssamtale"].due_time == dt.time(13, 0)
    assert plan["mentor_i_virksomheden#3"].status == "cancelled"
    tampered = v2.model_copy(update={"name": "Fagmentor (ændret)"})
    with pytest.raises(InvalidInput, match="version 3 of 'fagmentor' is already in use"):
        migrate_enrollments(session, ctx, definition=tampered)


def test_a_date_that_follows_a_completion_after_a_pause_is_not_moved_twice(
    session: Any, ctx: Any, clock: Any
) -> None:
    """HOP: the company interview comes 3 working days after the readiness assessment is
    completed. The assessment moves with a sick leave; the interview then follows its real
    completion and must not be pushed by the same sick leave a second time."""
    e = _enroll(session, ctx, name="hop")
    record_consent(session, ctx, citizen_ref="B-1", given=True)  # the sport sessions are health
    replan(session, ctx, enrollment_id=e, pause=(dt.date(2027, 3, 3), dt.date(2027, 3, 5)))
    ready = _plan(session, e)["klar_til_praktik"]
    assert ready.due_date == dt.date(2027, 3, 11)  # start +5 working days, +3 paused
    clock.set(at(ready.due_date))
    for row in sorted(_plan(session, e).values(), key=lambda r: (r.due_date, r.id)):
        if row.due_date <= ready.due_date and row.status == "planned" and row.key != ready.key:
            complete_step(session, ctx, step_instance_id=row.id)
    complete_step(session, ctx, step_instance_id=ready.id, outcome="klar")
    assert _plan(session, e)["praktiksamtale"].due_date == dt.date(2027, 3, 16)
