"""Indsigt (udtræk): the administrator types a citizen's reference and downloads
everything stored about her (GDPR art. 15) as JSON or as the Danish PDF. The same code
as ``iba citizen extract`` (:mod:`iba_workflow.privacy.extract`) builds it and writes
its audit line, in the request's one unit of work."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from sqlmodel import select

from iba_workflow.cpr_guard import looks_like_cpr
from iba_workflow.identity import policy
from iba_workflow.identity.policy import Action, Kind, PageAccess, Resource, decide
from iba_workflow.privacy.extract import build_extract, render_extract_pdf
from iba_workflow.store.tables import CitizenRow
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.guard import SECURITY_HEADERS, PostedForm

from .context import workspace_of

router = APIRouter()
PATH = "/indsigt"
FORMATS = {"json": "application/json", "pdf": "application/pdf"}


@router.get(PATH)
def extract_form(
    request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.CITIZEN_EXTRACT)
) -> Response:
    return _form(request, access, "", None)


def _form(
    request: Request, access: PageAccess, ref: str, error: str | None, status: int = 200
) -> Response:
    ws = workspace_of(request)
    context = {"ref": ref, "error": error, "section": "indsigt"}
    return ws.page("ws_indsigt.html.j2", access, context, status)


@router.post(PATH)
def extract_download(
    request: Request,
    form: PostedForm,
    access: PageAccess = policy.page(Action.VIEW, Kind.CITIZEN_EXTRACT),
) -> Response:
    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    ref = str(form.get("ref", "")).strip()
    fmt = str(form.get("format", "json"))
    if looks_like_cpr(ref):  # never echoed, never looked up
        return _form(request, access, "", "Skriv borgerens reference, ikke et CPR-nummer.", 422)
    if not ref:
        return _form(request, access, "", "Skriv borgerens reference, fx B-0001.", 422)
    if fmt not in FORMATS:
        return _form(request, access, ref, "Vælg JSON eller PDF.", 422)
    with unit_of_work(ws.ident.session_factory) as session:
        citizen = session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).first()
        allowed = citizen is not None and decide(
            access.actor,
            Action.VIEW,
            Resource(kind=Kind.CITIZEN_EXTRACT, municipality=citizen.municipality),
        )
        if not allowed:  # another municipality's citizen is not told apart from none
            missing = f"Der findes ingen borger med referencen «{ref}». Tjek referencen."
            return _form(request, access, ref, missing, 404)
        data = build_extract(session, ref, actor=access.actor.label, at=ws.now())
    if fmt == "pdf":
        body = render_extract_pdf(data)
    else:
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="indsigt-{ref}.{fmt}"',
    }
    return Response(body, media_type=FORMATS[fmt], headers=headers)
