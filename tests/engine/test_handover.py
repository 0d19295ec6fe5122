"""Handover: an outcome that proposes a visitation in another intervention (Sunde kvinder →
Fagmentor) leaves a proposal for that coordinator, and enrolls nobody by itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine_helpers import citizen, definition, staff_for
from sqlmodel import select

from iba_workflow.engine import complete_step, record_consent, record_visitation
from iba_workflow.engine.handover import proposed_handovers
from iba_workflow.store import tables as t
from iba_workflow.store.requests import pending_requests


def _finish_sunde_kvinder(session: Any, ctx: Any, outcome: str) -> int:
    d = definition("sunde_kvinder")
    staff_for(session, ctx, d)
    citizen(session, ctx, "B-HO")
    record_consent(session, ctx, citizen_ref="B-HO", given=True)  # training is health
    result = record_visitation(
        session,
        ctx,
        citizen_ref="B-HO",
        definition=d,
        accept=True,
        answers={c.id: True for c in d.eligibility},  # with consent: health ones too
        cohort="hold_2027_foraar",
    )
    assert result.enrollment_id is not None
    steps = {
        r.key: r
        for r in session.exec(
            select(t.StepInstanceRow).where(t.StepInstanceRow.enrollment_id == result.enrollment_id)
        )
    }
    for key in (
        "progressionsmaaling_start",
        "progressionsmaaling_midtvejs",
        "progressionsmaaling_slut",
    ):
        complete_step(session, ctx, step_instance_id=steps[key].id, data={"energi": 5})
    complete_step(
        session, ctx, step_instance_id=steps["afsluttende_evaluering"].id, outcome=outcome
    )
    session.commit()
    return result.enrollment_id


def test_ready_for_an_internship_proposes_fagmentor(session: Any, ctx: Any) -> None:
    enrollment_id = _finish_sunde_kvinder(session, ctx, "klar_til_praktik")
    enrollment = session.get(t.EnrollmentRow, enrollment_id)
    assert enrollment.status == "ended"
    [proposal] = proposed_handovers(session, definition_id="fagmentor")
    assert (proposal.citizen_id, proposal.channel, proposal.accept) == (
        enrollment.citizen_id,
        "handover",
        False,
    )
    # Nobody is enrolled in Fagmentor until its coordinator decides; the visitation
    # sweep does not pick the proposal up.
    assert not session.exec(
        select(t.EnrollmentRow).where(t.EnrollmentRow.definition_id == "fagmentor")
    ).all()
    later = ctx.now() + dt.timedelta(days=1)
    assert proposal.key not in {k for k, _ in pending_requests(session, received_before=later)}
    [logged] = session.exec(
        select(t.AuditRow).where(t.AuditRow.action == "handover_proposed")
    ).all()
    assert logged.enrollment_id == enrollment_id


def test_another_outcome_proposes_nothing(session: Any, ctx: Any) -> None:
    _finish_sunde_kvinder(session, ctx, "andet_tilbud")
    assert proposed_handovers(session) == []


def test_the_coordinator_decides_a_proposal_on_the_command_line(
    session: Any, ctx: Any, store_url: str, monkeypatch: Any
) -> None:
    """`iba handover list` shows the proposal; `iba handover decide` answers the
    eligibility checklist of Fagmentor and enrolls her; the proposal is then closed."""
    from typer.testing import CliRunner

    from iba_workflow.cli.app import app

    _finish_sunde_kvinder(session, ctx, "klar_til_praktik")
    fagmentor = definition("fagmentor")
    staff_for(session, ctx, fagmentor)
    session.commit()
    [proposal] = proposed_handovers(session, definition_id="fagmentor")
    monkeypatch.setenv("IBA_DATABASE_URL", store_url)
    monkeypatch.setenv("IBA_DATE_WINDOW_AHEAD_DAYS", "3650")
    runner = CliRunner()

    def iba(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    listed = iba("handover", "list")
    assert f"{proposal.id}" in listed and "fagmentor" in listed and "B-HO" in listed
    out = iba("handover", "decide", str(proposal.id), "--accept", "--start", "2027-06-07", ok=False)
    assert "not answered" in out and "hint:" in out
    answers = [a for c in fagmentor.eligibility for a in ("--answer", f"{c.id}=yes")]
    out = iba("handover", "decide", str(proposal.id), "--accept", "--start", "2027-06-07", *answers)
    assert f"proposal {proposal.id}: visitation" in out and "accepted" in out
    assert "enrollment" in out and "opstartsmoede" in out
    assert "no handover proposals waiting" in iba("handover", "list")
    out = iba("handover", "decide", str(proposal.id), "--reject", "igen", ok=False)
    assert "decided already" in out
    assert "no handover proposal 999" in iba("handover", "decide", "999", "--accept", ok=False)
    session.expire_all()
    enrolled = session.exec(
        select(t.EnrollmentRow).where(t.EnrollmentRow.definition_id == "fagmentor")
    ).one()
    closed = session.get(type(proposal), proposal.id)
    assert (closed.status, closed.decision, closed.enrollment_id) == (
        "processed",
        "accepted",
        enrolled.id,
    )
