"""``POST /api/visitations``: the request model and a small handler function that other
entry points (a Prefect event, a CLI) can call with the same body; and
``GET /api/visitations/{request}``, what became of a request the Prefect door stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func
from sqlmodel import Session, select

from iba_workflow.catalog import find_definition_file
from iba_workflow.cpr_guard import Where, refuse_cpr
from iba_workflow.definition import load_definition
from iba_workflow.engine import EngineContext, record_visitation
from iba_workflow.errors import InvalidInput, NotFound
from iba_workflow.paths import known_templates
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.tables import EnrollmentRow, StepInstanceRow
from iba_workflow.store.work import unit_of_work

if TYPE_CHECKING:
    from iba_workflow.orchestration.intake import RequestOutcome


class VisitationIn(BaseModel):
    """A visitation (visitation) decided for one citizen. No personal data: the citizen
    is an opaque reference registered beforehand."""

    model_config = ConfigDict(extra="forbid")

    definition_id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    citizen_ref: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    accept: bool
    reject_reason: str | None = Field(None, min_length=1, max_length=500)
    start: dt.date | None = None
    cohort: str | None = Field(None, pattern=r"^[a-z0-9_-]{1,64}$")
    answers: dict[str, bool] = Field(default_factory=dict)

    @field_validator("citizen_ref")
    @classmethod
    def _not_a_cpr_number(cls, value: str) -> str:
        return _no_cpr(value, where="reference", field="citizen_ref")

    @field_validator("reject_reason")
    @classmethod
    def _no_cpr_in_reason(cls, value: str | None) -> str | None:
        return None if value is None else _no_cpr(value, where="text", field="reject_reason")

    @model_validator(mode="after")
    def _accept_or_reason(self) -> VisitationIn:
        if self.accept and self.reject_reason is not None:
            raise ValueError(
                "an accepted visitation has no reject_reason / en godkendt visitation har "
                "ingen afvisningsgrund"
            )
        if not self.accept and self.reject_reason is None:
            raise ValueError(
                "a rejected visitation needs a reject_reason / en afvisning skal have en grund"
            )
        return self


def _no_cpr(value: str, *, where: Where, field: str) -> str:
    """The shared validator (``cpr_guard.refuse_cpr``) as pydantic wants it: a 422
    whose message carries the sentence and the hint."""
    try:
        return refuse_cpr(value, where=where, field=field)
    except InvalidInput as exc:
        raise ValueError(f"{exc.message} ({exc.hint})") from None


def handle_visitation(
    body: VisitationIn,
    *,
    session_factory: SessionFactory,
    ctx: EngineContext,
    definitions_dir: Path,
    templates_dir: Path,
) -> dict[str, Any]:
    """Record the visitation through the engine (one transaction) and say what happened.
    Raises :class:`~iba_workflow.errors.IbaError` on input the engine refuses."""
    path = find_definition_file(body.definition_id, definitions_dir)
    definition = load_definition(path, known_templates=known_templates(templates_dir))
    with unit_of_work(session_factory) as session:
        result = record_visitation(
            session,
            ctx,
            citizen_ref=body.citizen_ref,
            definition=definition,
            accept=body.accept,
            reject_reason=body.reject_reason,
            answers=body.answers,
            start=body.start,
            cohort=body.cohort,
        )
    return {
        "visitation_id": result.visitation_id,
        "decision": result.decision,
        "enrollment_id": result.enrollment_id,
        "start": result.start.isoformat() if result.start else None,
        "steps": len(result.steps),
    }


def submit_through_prefect(
    body: VisitationIn,
    *,
    session_factory: SessionFactory,
    ctx: EngineContext,
    definitions_dir: Path,
    templates_dir: Path,
    wait_seconds: float,
    submitted_by: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """The Prefect door: store the request under an opaque key, announce it
    (``iba.visitation.created``), and wait up to ``wait_seconds`` for the intervention's
    flow (``<id> · visitation``) to process it. Returns the HTTP status and the answer:
    201 processed, 202 stored and announced but not processed yet, 422 refused."""
    from iba_workflow.orchestration.doors import submit_visitation, wait_for_outcome

    path = find_definition_file(body.definition_id, definitions_dir)
    definition = load_definition(path, known_templates=known_templates(templates_dir))
    submitted = submit_visitation(
        session_factory,
        ctx,
        definitions={definition.id: definition},
        definition_id=definition.id,
        via="prefect",
        channel="api",
        citizen_ref=body.citizen_ref,
        accept=body.accept,
        reject_reason=body.reject_reason,
        answers=body.answers,
        start=body.start,
        cohort=body.cohort,
        submitted_by=submitted_by,
    )
    outcome = wait_for_outcome(session_factory, submitted.key, timeout=wait_seconds)
    with session_factory() as session:
        answer = request_answer(session, outcome)
    status = {"refused": 422, "processed": 201}.get(outcome.status, 202)
    return status, answer


def request_status(session_factory: SessionFactory, key: str, *, asker: str) -> dict[str, Any]:
    """``GET /api/visitations/{request}``: what became of a stored request, in the
    shape ``POST`` answers it (``received`` while the flow has not run yet), for the
    credential that submitted it (``asker``, e.g. ``apikey:3``). An unknown key, or one
    another credential submitted, raises :class:`~iba_workflow.errors.NotFound` (the
    same sentence: the answer does not tell that the request exists)."""
    from iba_workflow.orchestration.intake import request_outcome
    from iba_workflow.store.requests import request_by_key

    with session_factory() as session:
        row = request_by_key(session, key)
        if row is None or row.submitted_by != asker:
            raise NotFound(f"no visitation request '{key}' sent with this credential")
        return request_answer(session, request_outcome(session, key))


def request_answer(session: Session, outcome: RequestOutcome) -> dict[str, Any]:
    """A request's outcome as the API answers it: opaque ids, the decision, the start
    and the number of planned steps; never the citizen or her answers."""
    answer: dict[str, Any] = {"request": outcome.key, "status": outcome.status}
    if outcome.status == "refused":
        return {**answer, "error": outcome.error or "refused by the engine"}
    if outcome.status != "processed":
        return answer
    start, steps = None, 0
    if outcome.enrollment_id is not None:  # none for a visitation that was rejected
        enrollment = session.get(EnrollmentRow, outcome.enrollment_id)
        start = enrollment.start.isoformat() if enrollment else None
        steps = session.exec(
            select(func.count()).where(StepInstanceRow.enrollment_id == outcome.enrollment_id)
        ).one()
    return {
        **answer,
        "visitation_id": outcome.visitation_id,
        "decision": outcome.decision,
        "enrollment_id": outcome.enrollment_id,
        "start": start,
        "steps": int(steps),
    }
