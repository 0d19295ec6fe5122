"""Visitation: register a citizen (name and CPR to the identity table only) and decide
the visitation with a form built from the definition's eligibility criteria, choosing a
cohort or a start date with the capacity and the waiting list shown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.engine.intake import record_consent, record_visitation, register_citizen
from iba_workflow.errors import InvalidInput
from iba_workflow.identity.policy import Action, Actor, Kind, PageAccess, Resource, decide, require
from iba_workflow.store.tables import CohortRow, EnrollmentRow
from iba_workflow.store.work import unit_of_work

from .context import Workspace
from .cpr import check_cpr

MAX_TEXT = 200


@dataclass(frozen=True)
class Place:
    key: str  # cohort key, or "" for rolling intake
    label: str
    start: dt.date | None
    active: int
    capacity: int
    waiting: int

    @property
    def full(self) -> bool:
        return self.active >= self.capacity


def may_visit(actor: Actor, d: Definition) -> bool:
    r = Resource(kind=Kind.VISITATION, municipality=d.municipality, definition_id=d.id)
    return bool(decide(actor, Action.CREATE, r))


def places(session: Session, d: Definition, *, today: dt.date) -> list[Place]:
    def counts(cohort_id: int | None) -> tuple[int, int]:
        out = []
        for status in ("active", "waiting"):
            q = (
                select(func.count())
                .select_from(EnrollmentRow)
                .where(EnrollmentRow.definition_id == d.id, EnrollmentRow.status == status)
            )
            if cohort_id is not None:
                q = q.where(EnrollmentRow.cohort_id == cohort_id)
            out.append(int(session.exec(q).one()))
        return out[0], out[1]

    if d.intake.kind != "cohort":
        active, waiting = counts(None)
        return [Place("", "Løbende optag", None, active, d.capacity, waiting)]
    rows = {
        r.cohort_key: r
        for r in session.exec(select(CohortRow).where(CohortRow.definition_id == d.id))
    }
    found = []
    for c in d.intake.cohorts:
        if c.start < today - dt.timedelta(days=28):
            continue  # long started: not offered
        row = rows.get(c.id)
        active, waiting = counts(row.id) if row else (0, 0)
        found.append(
            Place(
                c.id, f"Hold {c.id}", c.start, active, row.capacity if row else d.capacity, waiting
            )
        )
    return found


def _text(posted: Mapping[str, Any], name: str, label: str, *, required: bool) -> str | None:
    value = str(posted.get(name, "") or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{label} mangler")
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{label} må højst være {MAX_TEXT} tegn")
    return value


@dataclass
class DecisionFields:
    """The eligibility answers and the decision, as the visitation form posts them."""

    accept: bool
    reason: str | None
    answers: dict[str, bool]
    cohort: str | None
    start: dt.date | None


def decision_fields(d: Definition, posted: Mapping[str, Any], *, consent: bool) -> DecisionFields:
    """Read (and check) the checklist, the decision and the start; health criteria are
    answered only with a consent."""
    answers: dict[str, bool] = {}
    for c in d.eligibility:
        raw = str(posted.get(f"kriterie_{c.id}", ""))
        if c.health and not consent:
            continue
        if raw not in ("ja", "nej"):
            raise InvalidInput(f"svar ja eller nej til: {c.text}", missing=[c.id])
        answers[c.id] = raw == "ja"
    decision = str(posted.get("beslutning", ""))
    if decision not in ("optag", "afvis"):
        raise InvalidInput("vælg Optag eller Afvis")
    reason = _text(posted, "begrundelse", "Begrundelsen", required=decision == "afvis")
    cohort = start = None
    if decision == "optag":
        if d.intake.kind == "cohort":
            cohort = str(posted.get("hold", "")) or None
            if cohort is None:
                raise InvalidInput("vælg et hold")
        elif str(posted.get("start", "")).strip():
            try:
                start = dt.date.fromisoformat(str(posted.get("start")).strip())
            except ValueError:
                raise InvalidInput("startdatoen skal være en dato (åååå-mm-dd)") from None
    accept = decision == "optag"
    return DecisionFields(accept, None if accept else reason, answers, cohort, start)


@dataclass
class VisitationDone:
    decision: str
    enrollment_id: int | None
    start: dt.date | None
    steps: int
    citizen_ref: str


def decide_visitation(
    ws: Workspace, access: PageAccess, d: Definition, posted: Mapping[str, Any]
) -> VisitationDone:
    """Register the citizen and record the visitation: one unit of work (a refused
    visitation leaves no citizen behind)."""
    actor = access.actor
    resource = dict(municipality=d.municipality, definition_id=d.id)
    require(actor, Action.CREATE, Resource(kind=Kind.VISITATION, **resource))  # type: ignore[arg-type]
    require(actor, Action.CREATE, Resource(kind=Kind.CITIZEN_IDENTITY, **resource))  # type: ignore[arg-type]
    ctx = ws.engine_ctx(access)
    ref = _text(posted, "ref", "Borgerens reference", required=True) or ""
    name = _text(posted, "navn", "Navn", required=True)
    cpr = check_cpr(str(posted.get("cpr", "")), today=ctx.today())
    consent = posted.get("samtykke") == "ja"
    c = decision_fields(d, posted, consent=consent)
    with unit_of_work(ws.ident.session_factory) as session:
        register_citizen(session, ctx, ref=ref, municipality=d.municipality, name=name, cpr=cpr)
        if consent:
            record_consent(session, ctx, citizen_ref=ref, given=True)
        result = record_visitation(
            session, ctx, citizen_ref=ref, definition=d, accept=c.accept,
            reject_reason=c.reason, answers=c.answers, start=c.start, cohort=c.cohort,
        )  # fmt: skip
    return VisitationDone(
        result.decision, result.enrollment_id, result.start, len(result.steps), ref
    )


def next_reference(session: Session, municipality: str) -> str:
    """A suggestion for a new opaque reference: ``B-`` and the next number."""
    from iba_workflow.store.tables import CitizenRow

    n = session.exec(select(func.count()).select_from(CitizenRow)).one()
    taken = set(session.exec(select(CitizenRow.ref).where(col(CitizenRow.ref).startswith("B-"))))
    k = int(n) + 1
    while f"B-{k:04d}" in taken:
        k += 1
    return f"B-{k:04d}"
