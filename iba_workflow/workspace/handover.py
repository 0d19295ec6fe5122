"""Handover proposals on the Visitation page: an outcome of another intervention proposed
this one for a citizen (e.g. Sunde kvinder → Fagmentor). The coordinator sees them
waiting, opens one and decides it with the eligibility form, as any visitation; the
citizen is registered already, so no name or CPR number is asked for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.engine.handover import decide_handover, proposed_handovers
from iba_workflow.engine.intake import record_consent
from iba_workflow.errors import InvalidInput
from iba_workflow.identity.policy import Action, Kind, PageAccess, Resource, require
from iba_workflow.store.records import has_health_consent
from iba_workflow.store.tables import AuditRow, CitizenRow, EnrollmentRow
from iba_workflow.store.work import unit_of_work

from .context import Workspace
from .visitation import VisitationDone, decision_fields


@dataclass(frozen=True)
class Proposal:
    id: int
    citizen_ref: str
    proposed_on: dt.date
    source: str  # the intervention whose outcome proposed it (its name), or ""
    consent: bool  # a consent to health data is on file


def pending_proposals(session: Session, d: Definition, names: Mapping[str, str]) -> list[Proposal]:
    """Proposals for ``d`` waiting for a decision, oldest first."""
    found = []
    for row in proposed_handovers(session, definition_id=d.id):
        citizen = session.get(CitizenRow, row.citizen_id)
        logged = session.exec(
            select(AuditRow.enrollment_id).where(
                AuditRow.action == "handover_proposed",
                AuditRow.entity == "visitation_request",
                col(AuditRow.entity_id) == str(row.id),
            )
        ).first()
        source = session.get(EnrollmentRow, logged) if logged else None
        found.append(
            Proposal(
                row.id or 0,
                citizen.ref if citizen else "",
                row.received_at.date(),
                names.get(source.definition_id, source.definition_id) if source else "",
                has_health_consent(session, row.citizen_id),
            )
        )
    return found


def decide_proposal(
    ws: Workspace, access: PageAccess, d: Definition, proposal_id: int, posted: Mapping[str, Any]
) -> VisitationDone:
    """Decide proposal ``proposal_id`` with the posted checklist: one unit of work."""
    require(
        access.actor,
        Action.CREATE,
        Resource(kind=Kind.VISITATION, municipality=d.municipality, definition_id=d.id),
    )
    ctx = ws.engine_ctx(access)
    with unit_of_work(ws.ident.session_factory) as session:
        waiting = {p.id: p for p in pending_proposals(session, d, {})}
        p = waiting.get(proposal_id)
        if p is None:
            raise InvalidInput("forslaget er allerede behandlet, eller det findes ikke")
        consent = posted.get("samtykke") == "ja" or p.consent
        fields = decision_fields(d, posted, consent=consent)
        if consent and not p.consent:
            record_consent(session, ctx, citizen_ref=p.citizen_ref, given=True)
        result = decide_handover(
            session, ctx, request_id=proposal_id, definition=d, accept=fields.accept,
            reject_reason=fields.reason, answers=fields.answers, start=fields.start,
            cohort=fields.cohort,
        )  # fmt: skip
    return VisitationDone(
        result.decision, result.enrollment_id, result.start, len(result.steps), p.citizen_ref
    )
