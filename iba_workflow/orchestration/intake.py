"""Visitations through a door: receive (store the request under an opaque key) and
process (the engine records the visitation; exactly once per request).

No Prefect here: the flow ``<definition> · visitation`` and the direct path of ``iba
visit`` both call ``process_visitation_request``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from iba_workflow.definition import Definition
from iba_workflow.engine import EngineContext, record_visitation, register_citizen
from iba_workflow.engine.context import transaction
from iba_workflow.errors import EngineError, InvalidInput, NotFound
from iba_workflow.store.records import citizen_by_ref
from iba_workflow.store.requests import (
    VisitationRequestRow,
    add_request,
    claim_for_processing,
    record_refusal,
    request_by_key,
)
from iba_workflow.store.tables import CitizenRow, EnrollmentRow, VisitationRow

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
) -> str:
    """Store a visitation request and return its opaque key.

    A citizen not yet registered is registered (with ``identity`` in its own table) when
    ``municipality`` is given. Input that can never be processed is refused here, before
    anything is stored.
    """
    if accept == (reject_reason is not None):
        raise InvalidInput(
            "a visitation is either accepted or rejected with a reason",
            hint="give accept, or a reject reason",
        )
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
    with transaction(session):
        row = add_request(
            session,
            VisitationRequestRow(
                key="",
                definition_id=definition.id,
                citizen_id=citizen.id,
                channel=channel,
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
    is recorded on the request and returned (not raised)."""
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
    try:
        with _linked_on_commit(session, key):
            if not claim_for_processing(session, key, now=ctx.now()):
                session.rollback()
                return request_outcome(session, key)
            record_visitation(session, ctx, **args)
    except EngineError as exc:
        session.rollback()
        mine = record_refusal(session, key, error=exc.message, now=ctx.now())
        return replace(request_outcome(session, key), already=not mine)
    outcome = replace(request_outcome(session, key), already=False)
    session.rollback()
    return outcome


@contextmanager
def _linked_on_commit(session: Session, key: str) -> Iterator[None]:
    """While the engine works in ``session``, note the visitation and enrollment it
    creates, and write their ids onto the request in the same commit."""
    created: dict[str, Any] = {}

    def after_flush(sess: Session, _context: Any) -> None:
        for obj in sess.new:
            if isinstance(obj, VisitationRow):
                created["visitation"] = obj
            elif isinstance(obj, EnrollmentRow):
                created["enrollment"] = obj

    def before_commit(sess: Session) -> None:
        visitation = created.get("visitation")
        if visitation is None:
            return
        enrollment = created.get("enrollment")
        table = VisitationRequestRow.__table__  # type: ignore[attr-defined]
        sess.execute(
            update(table)
            .where(table.c.key == key)
            .values(
                visitation_id=visitation.id,
                enrollment_id=enrollment.id if enrollment is not None else None,
                decision=visitation.decision,
            )
        )

    event.listen(session, "after_flush", after_flush)
    event.listen(session, "before_commit", before_commit)
    try:
        yield
    finally:
        event.remove(session, "after_flush", after_flush)
        event.remove(session, "before_commit", before_commit)
