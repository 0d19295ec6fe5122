"""Consent at the engine for every health step: a step marked ``health: true`` cannot be
completed without the citizen's consent, and withdrawing consent cancels the open
health-only steps (given again, they are planned anew). Real SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import citizen, definition, snapshot, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow.engine import complete_step, record_consent, record_visitation
from iba_workflow.errors import ConsentMissing, InvalidTransition
from iba_workflow.store import tables as t

REF = "B-SAMTYKKE"


def _enroll(session: Any, ctx: Any, *, consent: bool) -> int:
    d = definition("sunde_kvinder")
    staff_for(session, ctx, d)
    citizen(session, ctx, REF)
    if consent:
        record_consent(session, ctx, citizen_ref=REF, given=True)
    result = record_visitation(
        session,
        ctx,
        citizen_ref=REF,
        definition=d,
        accept=True,
        answers=yes_to_all(d, health=consent),
        cohort="hold_2027_foraar",
    )
    assert result.enrollment_id is not None
    session.commit()
    return result.enrollment_id


def _steps(session: Any, enrollment_id: int) -> dict[str, t.StepInstanceRow]:
    session.expire_all()
    rows = session.exec(
        select(t.StepInstanceRow).where(t.StepInstanceRow.enrollment_id == enrollment_id)
    ).all()
    return {r.key: r for r in rows}


def _is_health(row: t.StepInstanceRow) -> bool:
    return bool(definition("sunde_kvinder").step(row.step_id).health)


def _audit(session: Any, action: str) -> list[t.AuditRow]:
    return list(session.exec(select(t.AuditRow).where(t.AuditRow.action == action)))


def test_a_health_step_without_consent_is_refused_and_nothing_is_written(
    session: Any, ctx: Any
) -> None:
    e = _enroll(session, ctx, consent=False)
    training = min(
        (r for r in _steps(session, e).values() if r.step_id == "traening"),
        key=lambda r: r.due_date,
    )
    before = snapshot(session)
    with pytest.raises(ConsentMissing, match="samtykke") as refused:
        complete_step(session, ctx, step_instance_id=training.id, data={"present": "yes"})
    assert refused.value.hint and "consent" in refused.value.hint
    assert snapshot(session) == before  # no completion, no attendance, no audit line
    # a step that is not about health is completed as before
    start = _steps(session, e)["progressionsmaaling_start"]
    complete_step(session, ctx, step_instance_id=start.id, data={"energi": 5})
    # and with consent the same health step is completed
    record_consent(session, ctx, citizen_ref=REF, given=True)
    done = complete_step(session, ctx, step_instance_id=training.id, data={"present": "yes"})
    assert not done.already_done
    assert _steps(session, e)[training.key].status == "completed"


def test_withdrawal_cancels_open_health_steps_and_consent_again_replans_them(
    session: Any, ctx: Any
) -> None:
    e = _enroll(session, ctx, consent=True)
    steps = _steps(session, e)
    health = sorted(k for k, r in steps.items() if _is_health(r))
    assert health, "sunde_kvinder plans health steps (training)"
    first = min((steps[k] for k in health), key=lambda r: (r.due_date, r.key))
    complete_step(session, ctx, step_instance_id=first.id, data={"present": "yes"})
    other = {k: r.status for k, r in steps.items() if not _is_health(r)}
    session.commit()

    record_consent(session, ctx, citizen_ref=REF, given=False)
    session.commit()
    after = _steps(session, e)
    assert after[first.key].status == "completed"  # done stays done
    cancelled = sorted(k for k in health if k != first.key)
    assert all(after[k].status == "cancelled" for k in cancelled)
    assert {k: after[k].status for k in other} == other  # nothing else touched
    enrollment = session.get(t.EnrollmentRow, e)
    consents = session.exec(
        select(t.ConsentRow)
        .where(t.ConsentRow.citizen_id == enrollment.citizen_id)
        .order_by(t.ConsentRow.id)  # type: ignore[arg-type]
    ).all()
    assert [c.given for c in consents] == [True, False]  # the withdrawal is on record
    withdrawn = _audit(session, "consent_withdrawn")
    assert len(withdrawn) == 1
    (line,) = _audit(session, "health_steps_cancelled")
    assert line.enrollment_id == e and line.details["steps"] == cancelled

    # a later re-plan (completing another step) does not bring them back
    start = after["progressionsmaaling_start"]
    complete_step(session, ctx, step_instance_id=start.id, data={"energi": 5})
    session.commit()
    assert all(_steps(session, e)[k].status == "cancelled" for k in cancelled)
    with pytest.raises(InvalidTransition, match="cancelled"):
        complete_step(session, ctx, step_instance_id=after[cancelled[0]].id)
    session.rollback()

    # consent given again: the cancelled health steps are open again
    record_consent(session, ctx, citizen_ref=REF, given=True)
    session.commit()
    again = _steps(session, e)
    assert all(again[k].status == "planned" for k in cancelled)
    assert again[first.key].status == "completed"
    (back,) = _audit(session, "health_steps_replanned")
    assert back.details["steps"] == cancelled
