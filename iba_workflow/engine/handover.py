"""Handover between interventions: an outcome that proposes a visitation in another one.

Choosing such an outcome (e.g. Sunde kvinder's ``klar_til_praktik``) stores a visitation
request for the other definition with status ``proposed``: nothing enrolls the citizen until
that intervention's coordinator decides. A proposed request is never processed by the
visitation flow (it processes ``received`` requests only). Opaque ids only: the citizen is
an id, the note is the definition's own text.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from iba_workflow.definition.model import Outcome
from iba_workflow.store.records import audit
from iba_workflow.store.requests import VisitationRequestRow, add_request
from iba_workflow.store.tables import EnrollmentRow

from .context import EngineContext

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
