"""The other workspace pages: Visitation, Hold (cohorts), Medarbejdere (staff) and
Indsatser (definitions with a plan preview), and small reads the pages share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from iba_workflow.engine.intake import add_staff
from iba_workflow.errors import IbaError
from iba_workflow.identity import policy
from iba_workflow.identity.policy import Action, Actor, Kind, PageAccess, Resource, decide
from iba_workflow.planning import plan_enrollment
from iba_workflow.privacy.law_rules import check_law_rules
from iba_workflow.store.records import audit
from iba_workflow.store.tables import CohortRow, EnrollmentRow, StaffCoverRow, StaffRow
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.guard import PostedForm

from .cohorts import cohort_view
from .context import Workspace, workspace_of
from .handover import decide_proposal, pending_proposals
from .tasks import today_of
from .visitation import decide_visitation, may_visit, next_reference, places

router = APIRouter()


def intervention_names(ws: Workspace) -> dict[str, str]:
    return {d.id: d.name for d in ws.definitions().values()}


def enrollment_resource(e: EnrollmentRow) -> Resource:
    return Resource(
        kind=Kind.ENROLLMENT, municipality=e.municipality, definition_id=e.definition_id
    )


def identity_for(
    session: Session, access: PageAccess, e: EnrollmentRow, *, page: str, now: dt.datetime
) -> object | None:
    """The citizen's name and CPR for the coordinator (audited), else None."""
    resource = enrollment_resource(e)
    if not decide(access.actor, Action.VIEW_IDENTITY, Resource(
        kind=Kind.CITIZEN_IDENTITY, municipality=e.municipality, definition_id=e.definition_id
    )):  # fmt: skip
        return None
    try:
        return policy.read_identity(
            session, access.actor, citizen_id=e.citizen_id, enrollment=resource, page=page,
            now=now,
        )  # fmt: skip
    except IbaError:
        return None


def cohort_choices(session: Session, actor: Actor) -> list[CohortRow]:
    return [
        c
        for c in session.exec(select(CohortRow).order_by(col(CohortRow.start)))
        if c.definition_id in actor.coordinates
    ]


# ----------------------------------------------------------------------- visitation


@router.get("/visitation")
def visitation_page(
    request: Request,
    indsats: str = "",
    forslag: int = 0,
    access: PageAccess = policy.page(Action.CREATE, Kind.VISITATION),
) -> Response:
    return _visitation(request, access, indsats, {}, None, forslag=forslag)


def _visitation(
    request: Request, access: PageAccess, indsats: str, posted: dict[str, str], error: str | None,
    status: int = 200, *, forslag: int = 0,
) -> Response:  # fmt: skip
    ws = workspace_of(request)
    mine = [d for d in ws.definitions().values() if may_visit(access.actor, d)]
    if not mine:
        raise policy.Denied(policy.Decision(False, "coordinates no intervention"))
    chosen = next((d for d in mine if d.id == indsats), mine[0] if len(mine) == 1 else None)
    today = today_of(ws, access)
    with unit_of_work(ws.ident.session_factory) as session:
        offered = places(session, chosen, today=today) if chosen else []
        suggestion = next_reference(session, access.actor.municipality or "")
        waiting = pending_proposals(session, chosen, intervention_names(ws)) if chosen else []
    proposal = next((p for p in waiting if p.id == forslag), None)
    return ws.page(
        "ws_visitation.html.j2", access,
        {"mine": mine, "d": chosen, "places": offered, "posted": posted,
         "suggestion": suggestion, "error": error, "section": "visitation",
         "proposals": waiting, "proposal": proposal},
        status,
    )  # fmt: skip


@router.post("/visitation")
def visitation_submit(
    request: Request,
    form: PostedForm,
    access: PageAccess = policy.page(Action.CREATE, Kind.VISITATION),
) -> Response:
    from .routes import sentence

    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    indsats = str(form.get("indsats", ""))
    d = ws.definitions().get(indsats)
    from iba_workflow.cpr_guard import looks_like_cpr

    kept = {  # what the form shows again: never the CPR number, nor anything CPR-shaped
        k: str(v)
        for k, v in form.items()
        if k not in ("csrf", "cpr") and not looks_like_cpr(str(v))
    }
    if d is None:
        return _visitation(request, access, "", kept, "Vælg en indsats.", 422)
    forslag = str(form.get("forslag", "")).strip()
    proposal = int(forslag) if forslag.isdigit() else 0
    try:
        if proposal:  # a handover proposal: the citizen is registered already
            done = decide_proposal(ws, access, d, proposal, form)
        else:
            done = decide_visitation(ws, access, d, form)
    except IbaError as exc:
        return _visitation(request, access, indsats, kept, sentence(exc), 422, forslag=proposal)
    return ws.page(
        "ws_visitation_done.html.j2", access, {"done": done, "d": d, "section": "visitation"}
    )


# ----------------------------------------------------------------------- hold


@router.get("/hold")
def hold(request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.COHORT)) -> Response:
    ws = workspace_of(request)
    today = today_of(ws, access)
    groups = []
    with unit_of_work(ws.ident.session_factory) as session:
        for c in cohort_choices(session, access.actor):
            policy.require(access.actor, Action.VIEW, Resource(
                kind=Kind.COHORT,
                municipality=access.actor.municipality,
                definition_id=c.definition_id,
            ))  # fmt: skip
            groups.append(
                cohort_view(session, c, ws.definitions().get(c.definition_id), today=today)
            )
    return ws.page("ws_hold.html.j2", access, {"groups": groups, "section": "hold"})


# ----------------------------------------------------------------------- medarbejdere


@router.get("/medarbejdere")
def medarbejdere(
    request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.STAFF)
) -> Response:
    return _staff_page(request, access, None, None)


def _staff_page(
    request: Request, access: PageAccess, notice: str | None, error: str | None, status: int = 200
) -> Response:
    ws = workspace_of(request)
    with unit_of_work(ws.ident.session_factory) as session:
        staff = session.exec(
            select(StaffRow)
            .where(StaffRow.municipality == access.actor.municipality)
            .order_by(col(StaffRow.name))
        ).all()
        covers = session.exec(
            select(StaffCoverRow)
            .where(col(StaffCoverRow.last_day) >= today_of(ws, access))
            .order_by(col(StaffCoverRow.first_day))
        ).all()
    names = {s.id: s.name for s in staff}
    covers = [c for c in covers if c.staff_id in names]
    roles = sorted({r.id: r.name for d in ws.definitions().values() for r in d.roles}.items())
    return ws.page(
        "ws_medarbejdere.html.j2", access,
        {"staff": staff, "roles": roles, "notice": notice, "error": error,
         "covers": covers, "names": names,
         "section": "medarbejdere"},
        status,
    )  # fmt: skip


@router.post("/medarbejdere")
def medarbejdere_submit(
    request: Request, form: PostedForm, access: PageAccess = policy.page(Action.MANAGE, Kind.STAFF)
) -> Response:
    from .routes import sentence

    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    ctx = ws.engine_ctx(access)
    try:
        with unit_of_work(ws.ident.session_factory) as session:
            if form.get("handling") == "afloeser":
                notice = _add_cover(session, ctx, access, form)
            elif form.get("handling") == "deaktiver":
                row = session.get(StaffRow, int(str(form.get("id", "0")) or 0))
                if row is None or row.municipality != access.actor.municipality:
                    raise IbaError("medarbejderen findes ikke")
                row.active = False
                session.add(row)
                audit(session, at=ctx.now(), actor=ctx.actor, action="staff_deactivated",
                      entity="staff", entity_id=row.id)  # fmt: skip
                notice = f"{row.name} er deaktiveret."
            else:
                name, email = str(form.get("navn", "")).strip(), str(form.get("email", "")).strip()
                roles = [str(r) for r in form.getlist("roller")]
                if not name or "@" not in email:
                    raise IbaError("skriv navn og en arbejdsmail")
                add_staff(session, ctx, name=name, email=email, roles=roles,
                          municipality=access.actor.municipality or "")  # fmt: skip
                notice = f"{name} er oprettet."
    except IbaError as exc:
        return _staff_page(request, access, None, sentence(exc), 422)
    return _staff_page(request, access, notice, None)


# ----------------------------------------------------------------------- indsatser


@router.get("/indsatser")
def indsatser(
    request: Request, indsats: str = "", start: str = "",
    access: PageAccess = policy.page(Action.VIEW, Kind.DEFINITION),
) -> Response:  # fmt: skip
    ws = workspace_of(request)
    today = today_of(ws, access)
    defs = [d for d in ws.definitions().values() if d.municipality == access.actor.municipality]
    with unit_of_work(ws.ident.session_factory) as session:
        running = {
            (did, ver): int(n)
            for did, ver, n in session.exec(
                select(EnrollmentRow.definition_id, EnrollmentRow.definition_version, func.count())
                .where(
                    EnrollmentRow.status == "active",
                    EnrollmentRow.municipality == access.actor.municipality,
                )
                .group_by(col(EnrollmentRow.definition_id), col(EnrollmentRow.definition_version))
            )
        }
    chosen = next((d for d in defs if d.id == indsats), None)
    preview = None
    error = None
    findings: list[Any] = []
    first = today
    if chosen is not None:
        try:
            first = dt.date.fromisoformat(start) if start else today
            cohort = (
                chosen.intake.cohorts[0].id
                if chosen.intake.kind == "cohort" and chosen.intake.cohorts and not start
                else None
            )
            preview = plan_enrollment(chosen, calendar=ws.calendars(chosen.municipality),
                                      start=None if cohort else first, cohort=cohort)  # fmt: skip
            findings = check_law_rules(
                chosen,
                calendar=ws.calendars(chosen.municipality),
                path=ws.ident.settings.law_rules_file,
            )
        except (ValueError, IbaError) as exc:
            error = f"Planen kan ikke vises: {exc}"
    return ws.page(
        "ws_indsatser.html.j2", access,
        {"defs": defs, "running": running, "chosen": chosen, "preview": preview,
         "start": first, "error": error, "section": "indsatser", "findings": findings},
    )  # fmt: skip


def _add_cover(session: Session, ctx: Any, access: PageAccess, form: Any) -> str:
    from iba_workflow.engine.reassign import add_cover
    from iba_workflow.errors import InvalidInput

    try:
        who, cover = int(str(form.get("person", ""))), int(str(form.get("afloeser", "")))
        first = dt.date.fromisoformat(str(form.get("fra", "")))
        last = dt.date.fromisoformat(str(form.get("til", "")))
    except ValueError:
        raise InvalidInput("vælg to medarbejdere og skriv første og sidste dag") from None
    person = session.get(StaffRow, who)
    if person is None or person.municipality != access.actor.municipality:
        raise InvalidInput("medarbejderen findes ikke")
    add_cover(session, ctx, staff_id=who, cover_staff_id=cover, first_day=first, last_day=last)
    return f"{person.name}s opgaver går til en kollega fra {first:%d.%m.%Y} til {last:%d.%m.%Y}."
