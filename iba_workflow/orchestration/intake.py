"""Visitations through a door: receive (store the request under an opaque key) and
process (the engine records the visitation; exactly once per request).

No Prefect here: the flow ``<definition> · visitation`` and the direct path of ``iba
visit`` both call ``process_visitation_request``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from iba_workflow.cpr_guard import refuse_cpr
from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext, record_visitation, register_citizen
from iba_workflow.engine.intake import require_every_answer
from iba_workflow.errors import EngineError, InvalidInput, NotFound
from iba_workflow.store.records import citizen_by_ref, has_health_consent
from iba_workflow.store.requests import (
    VisitationRequestRow,
    add_request,
    claim_for_processing,
    link_request,
    record_refusal,
    request_by_key,
)
from iba_workflow.store.tables import CitizenRow

CONFLICT_ATTEMPTS = 3


@dataclass(frozen=True)
class Identity:
    """Personal data a door may receive; it goes to ``citizen_identity`` only."""

    name: str | None = None
    cpr: str | None = None
    email: str | None = None
    phone: str | None = None

    def __repr__(self) -> str:  # never print personal data by accident
        return "Identity(...)"

    def any(self) -> bool:
        return any(v is not None for v in (self.name, self.cpr, self.email, self.phone))


@dataclass(frozen=True)
class RequestOutcome:
    """What became of a request: opaque ids and the engine's decision only."""

    key: str
    definition_id: str
    status: str  # processed / refused / received (not yet)
    decision: str | None = None
    visitation_id: int | None = None
    enrollment_id: int | None = None
    error: str | None = None
    already: bool = False  # processed before this call

    def summary(self) -> str:
        if self.status == "refused":
            return f"request {self.key}: refused by the engine"
        if self.status != "processed":
            return f"request {self.key}: not processed yet"
        text = f"request {self.key}: visitation {self.visitation_id} {self.decision}"
        if self.enrollment_id is not None:
            text += f", enrollment {self.enrollment_id}"
        return text + (" (processed before)" if self.already else "")


def receive_visitation(
    session: Session,
    ctx: EngineContext,
    *,
    definition: Definition,
    citizen_ref: str,
    channel: str,
    accept: bool = False,
    reject_reason: str | None = None,
    answers: Mapping[str, bool] | None = None,
    start: dt.date | None = None,
    cohort: str | None = None,
    duration_weeks: int | None = None,
    weekdays: Mapping[str, list[str]] | None = None,
    municipality: str | None = None,
    identity: Identity | None = None,
    submitted_by: str | None = None,
) -> str:
    """Store a visitation request and return its opaque key (in the caller's
    transaction: the caller commits, e.g. ``store.work.unit_of_work``). ``submitted_by``
    names the API credential that sent it (the only one that may ask after it).

    A citizen not yet registered is registered (with ``identity`` in its own table) when
    ``municipality`` is given. Input that can never be processed is refused here, before
    anything is stored.
    """
    if accept == (reject_reason is not None):
        raise InvalidInput(
            "a visitation is either accepted or rejected with a reason",
            hint="give accept, or a reject reason",
        )
    refuse_cpr(citizen_ref, where="reference", field="citizen_ref")
    if reject_reason is not None:
        refuse_cpr(reject_reason, where="text", field="reject_reason")
    if start is not None:
        ctx.check_date(start, field="start")
    unknown = sorted(set(answers or {}) - {c.id for c in definition.eligibility})
    if unknown:
        raise InvalidInput(
            f"'{definition.id}' has no eligibility criterion {', '.join(unknown)}",
            hint="criteria: " + ", ".join(c.id for c in definition.eligibility),
        )
    try:
        citizen = citizen_by_ref(session, citizen_ref)
    except NotFound:
        if municipality is None:
            raise
        who = identity or Identity()
        citizen = register_citizen(
            session,
            ctx,
            ref=citizen_ref,
            municipality=municipality,
            name=who.name,
            cpr=who.cpr,
            email=who.email,
            phone=who.phone,
        )
    assert citizen.id is not None  # a stored row (found, or flushed when registered)
    if accept:
        consent = has_health_consent(session, citizen.id)
        require_every_answer(definition, answers or {}, consent=consent)
    row = add_request(
        session,
        VisitationRequestRow(
            key="",
            definition_id=definition.id,
            citizen_id=citizen.id,
            channel=channel,
            submitted_by=submitted_by,
            accept=accept,
            reject_reason=reject_reason,
            answers=dict(answers) if answers is not None else None,
            start=start,
            cohort=cohort,
            duration_weeks=duration_weeks,
            weekdays={k: list(v) for k, v in weekdays.items()} if weekdays else None,
            received_at=ctx.now(),
        ),
    )
    return row.key


def request_outcome(session: Session, key: str) -> RequestOutcome:
    row = request_by_key(session, key)
    if row is None:
        raise NotFound(f"no visitation request '{key}'")
    return RequestOutcome(
        key=row.key,
        definition_id=row.definition_id,
        status=row.status,
        decision=row.decision,
        visitation_id=row.visitation_id,
        enrollment_id=row.enrollment_id,
        error=row.error,
        already=row.status != "received",
    )


def process_visitation_request(
    session: Session, ctx: EngineContext, key: str, *, definitions: Mapping[str, Definition]
) -> RequestOutcome:
    """Record the visitation a request asks for, once. A second call (or a concurrent
    one) returns the first call's outcome with ``already=True``; a refusal by the engine
    is recorded on the request and returned (not raised).

    This is a caller of the engine (the body of the visitation flow, or the direct door):
    it owns its transactions and commits them; ``session`` is used for nothing else."""
    found = request_outcome(session, key)
    session.rollback()
    if found.already:
        return found
    row = request_by_key(session, key)
    assert row is not None
    definition = definitions.get(row.definition_id)
    if definition is None:
        raise NotFound(f"no definition '{row.definition_id}' for request '{key}'")
    citizen = session.get(CitizenRow, row.citizen_id)
    assert citizen is not None
    args: dict[str, Any] = {
        "citizen_ref": citizen.ref,
        "definition": definition,
        "accept": row.accept,
        "reject_reason": row.reject_reason,
        "answers": row.answers,
        "start": row.start,
        "cohort": row.cohort,
        "duration_weeks": row.duration_weeks,
        "weekdays": row.weekdays,
    }
    session.rollback()
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return _process_once(session, ctx, key, args)
        except IntegrityError:
            # Two first visitations of a definition at once both insert its
            # definition_version row (engine.register_definition); the loser's whole
            # transaction, claim included, was rolled back: run it again.
            session.rollback()
            if attempt == CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _process_once(
    session: Session, ctx: EngineContext, key: str, args: dict[str, Any]
) -> RequestOutcome:
    """One transaction: claim the request, let the engine record the visitation, write
    its ids onto the request, commit. A refusal rolls all of it back and is recorded."""
    try:
        if not claim_for_processing(session, key, now=ctx.now()):
            session.rollback()
            return request_outcome(session, key)
        result = record_visitation(session, ctx, **args)
        link_request(
            session,
            key,
            visitation_id=result.visitation_id,
            enrollment_id=result.enrollment_id,
            decision=result.decision,
        )
        session.commit()
    except EngineError as exc:
        session.rollback()
        mine = record_refusal(session, key, error=exc.message, now=ctx.now())
        session.commit()
        return replace(request_outcome(session, key), already=not mine)
    except BaseException:
        session.rollback()
        raise
    outcome = replace(request_outcome(session, key), already=False)
    session.rollback()
    return outcome
