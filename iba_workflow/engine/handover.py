"""Handover between interventions: an outcome that proposes a visitation in another one.

Choosing such an outcome (e.g. Sunde kvinder's ``klar_til_praktik``) stores a visitation
request for the other definition with status ``proposed``: nothing enrolls the citizen until
that intervention's coordinator decides. A proposed request is never processed by the
visitation flow (it processes ``received`` requests only). Opaque ids only: the citizen is
an id, the note is the definition's own text.

The coordinator decides a proposal (``iba handover decide``, or the workspace's Visitation
page) with the eligibility checklist, as any visitation: accepted, it enrolls the citizen;
either way the proposal is closed with the visitation it became.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.definition.model import Outcome
from iba_workflow.errors import InvalidInput, InvalidTransition, NotFound
from iba_workflow.store.records import audit
from iba_workflow.store.requests import VisitationRequestRow, add_request
from iba_workflow.store.tables import CitizenRow, EnrollmentRow

from .context import EngineContext, transaction
from .intake import VisitationResult, record_visitation

PROPOSED = "proposed"
CHANNEL = "handover"


def propose_handover(
    session: Session,
    ctx: EngineContext,
    *,
    enrollment: EnrollmentRow,
    outcome: Outcome,
    step_key: str,
) -> VisitationRequestRow | None:
    """Store the proposal of ``outcome`` (flushes, never commits). None if it proposes
    nothing."""
    if outcome.proposes is None:
        return None
    row = add_request(
        session,
        VisitationRequestRow(
            key="",
            definition_id=outcome.proposes.definition,
            citizen_id=enrollment.citizen_id,
            channel=CHANNEL,
            accept=False,
            status=PROPOSED,
            received_at=ctx.now(),
        ),
    )
    audit(
        session,
        at=ctx.now(),
        actor=ctx.actor,
        action="handover_proposed",
        entity="visitation_request",
        entity_id=row.id,
        enrollment_id=enrollment.id,
        citizen_id=enrollment.citizen_id,
        step_key=step_key,
        outcome=outcome.id,
        definition=outcome.proposes.definition,
    )
    return row


def proposed_handovers(
    session: Session, *, definition_id: str | None = None
) -> list[VisitationRequestRow]:
    """Proposals waiting for a coordinator's decision, oldest first."""
    query = select(VisitationRequestRow).where(VisitationRequestRow.status == PROPOSED)
    if definition_id is not None:
        query = query.where(VisitationRequestRow.definition_id == definition_id)
    return list(session.exec(query.order_by(col(VisitationRequestRow.id))).all())


def proposal(session: Session, request_id: int) -> tuple[VisitationRequestRow, str]:
    """A proposal still waiting, and its citizen's reference."""
    row = session.get(VisitationRequestRow, request_id)
    if row is None or row.channel != CHANNEL:
        raise NotFound(
            f"no handover proposal {request_id}", hint="see the proposals with: iba handover list"
        )
    if row.status != PROPOSED:
        raise InvalidTransition(
            f"handover proposal {request_id} is decided already ({row.decision})",
            hint="see the enrollment with: iba status",
        )
    citizen = session.get(CitizenRow, row.citizen_id)
    assert citizen is not None
    return row, citizen.ref


def decide_handover(
    session: Session,
    ctx: EngineContext,
    *,
    request_id: int,
    definition: Definition,
    accept: bool,
    reject_reason: str | None = None,
    answers: Mapping[str, bool] | None = None,
    start: dt.date | None = None,
    cohort: str | None = None,
) -> VisitationResult:
    """Decide a proposal as a visitation of ``definition`` (the one it proposes), in the
    caller's transaction; the proposal is closed with the visitation."""
    with transaction(session):
        row, ref = proposal(session, request_id)
        if definition.id != row.definition_id:
            raise InvalidInput(
                f"proposal {request_id} is for '{row.definition_id}', not '{definition.id}'",
                hint=f"decide it with the definition '{row.definition_id}'",
            )
        result = record_visitation(
            session, ctx, citizen_ref=ref, definition=definition, accept=accept,
            reject_reason=reject_reason, answers=answers, start=start, cohort=cohort,
        )  # fmt: skip
        row.status = "processed"
        row.accept = accept
        row.decision = result.decision
        row.visitation_id = result.visitation_id
        row.enrollment_id = result.enrollment_id
        row.processed_at = ctx.now()
        session.add(row)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="handover_decided",
            entity="visitation_request",
            entity_id=row.id,
            citizen_id=row.citizen_id,
            enrollment_id=result.enrollment_id,
            decision=result.decision,
            definition=definition.id,
        )
    return result
