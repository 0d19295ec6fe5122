"""The workspace routes: Min uge (the start page), completing one's own task, Forløb
and one enrollment with its changes. Every route declares its policy guard; row checks
call ``policy.require`` in the module that reads the row."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from iba_workflow.errors import IbaError, NotFound
from iba_workflow.identity import policy
from iba_workflow.identity.policy import Action, Kind, PageAccess
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.guard import SECURITY_HEADERS, PostedForm

from . import extract, more, notifications
from .changes import KINDS, enrollment_for, run_change
from .context import workspace_of
from .detail import enrollment_detail
from .listing import STATUS_WORDS, Filters, list_enrollments
from .tasks import complete_own_task, early_warning, today_of
from .week import my_week

workspace_router = APIRouter()
workspace_router.include_router(more.router)
workspace_router.include_router(notifications.router)
workspace_router.include_router(extract.router)
HOME = "/min-uge"


def sentence(exc: IbaError) -> str:
    """The Danish half of a bilingual engine message, with its hint."""
    message = exc.message.split(" / ", 1)[1] if " / " in exc.message else exc.message
    hint = exc.hint.split(" / ", 1)[1] if exc.hint and " / " in exc.hint else exc.hint
    text = message[:1].upper() + message[1:]
    return f"{text}. {hint[:1].upper() + hint[1:]}." if hint else f"{text}."


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


@workspace_router.get("/")
def root(access: PageAccess = policy.page(Action.VIEW, Kind.OWN_PAGE)) -> Response:
    return _redirect(HOME)


@workspace_router.get(HOME)
def min_uge(
    request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.OWN_PAGE)
) -> Response:
    ws = workspace_of(request)
    today = today_of(ws, access)
    with unit_of_work(ws.ident.session_factory) as session:
        week = my_week(session, access.actor, today=today)
        names = more.intervention_names(ws)
        return ws.page(
            "ws_min_uge.html.j2", access,
            {"week": week, "today": today, "names": names, "section": "min-uge"},
        )  # fmt: skip


@workspace_router.post("/min-uge/opgave/{step_id}")
def complete_task(
    request: Request, step_id: int, form: PostedForm,
    access: PageAccess = policy.page(Action.ACT, Kind.TASK),
) -> Response:  # fmt: skip
    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    try:
        warning = early_warning(ws, access, step_id, form)
        if warning is not None:
            return ws.page("ws_tidligt.html.j2", access, {"w": warning, "section": "min-uge"})
        receipt = complete_own_task(ws, access, step_id, form)
    except NotFound:
        return ws.page("ws_fejl.html.j2", access, {"error": "Opgaven findes ikke."}, 404)
    except IbaError as exc:
        return ws.page("ws_fejl.html.j2", access, {"error": sentence(exc), "back": HOME}, 422)
    return ws.page("ws_kvittering.html.j2", access, {"r": receipt, "section": "min-uge"})


@workspace_router.get("/forloeb")
def forloeb(
    request: Request, indsats: str = "", status: str = "active", hold: str = "",
    overskredet: str = "", mine: str = "", q: str = "", side: int = 1,
    access: PageAccess = policy.page(Action.VIEW, Kind.ENROLLMENT),
) -> Response:  # fmt: skip
    ws = workspace_of(request)
    f = Filters(
        intervention=indsats, status=status if status in STATUS_WORDS else "",
        cohort=int(hold) if hold.isdigit() else None, overdue=bool(overskredet),
        mine=bool(mine), q=q[:60], page=max(1, min(side, 10_000)),
    )  # fmt: skip
    names = more.intervention_names(ws)
    with unit_of_work(ws.ident.session_factory) as session:
        lines, total = list_enrollments(
            session, access.actor, f, today=today_of(ws, access), names=names
        )
        cohorts = more.cohort_choices(session, access.actor)
    return ws.page(
        "ws_forloeb.html.j2", access,
        {"lines": lines, "total": total, "f": f, "names": names, "statuses": STATUS_WORDS,
         "cohorts": cohorts, "section": "forloeb", "page_size": 50},
    )  # fmt: skip


def _enrollment_page(
    request: Request,
    access: PageAccess,
    enrollment_id: int,
    extra: dict[str, object],
    status: int = 200,
) -> Response:
    ws = workspace_of(request)
    today = today_of(ws, access)
    with unit_of_work(ws.ident.session_factory) as session:
        try:
            e = enrollment_for(session, access, enrollment_id, Action.VIEW)
        except NotFound:
            return ws.page("ws_fejl.html.j2", access, {"error": "Forløbet findes ikke."}, 404)
        detail = enrollment_detail(session, e, today=today, calendars=ws.calendars)
        who = more.identity_for(session, access, e, page="forloeb", now=ws.now())
        can_act = bool(policy.decide(access.actor, Action.ACT, more.enrollment_resource(e)))
        return ws.page(
            "ws_forloeb_et.html.j2", access,
            {"x": detail, "who": who, "can_act": can_act, "kinds": KINDS, "today": today,
             "section": "forloeb", "preview": None, **extra},
            status,
        )  # fmt: skip


@workspace_router.get("/forloeb/{enrollment_id}")
def et_forloeb(
    request: Request,
    enrollment_id: int,
    access: PageAccess = policy.page(Action.VIEW, Kind.ENROLLMENT),
) -> Response:
    return _enrollment_page(request, access, enrollment_id, {})


@workspace_router.post("/forloeb/{enrollment_id}/aendring")
def aendring(
    request: Request, enrollment_id: int, form: PostedForm,
    access: PageAccess = policy.page(Action.ACT, Kind.ENROLLMENT),
) -> Response:  # fmt: skip
    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    confirm = form.get("bekraeft") == "ja"
    try:
        change = run_change(ws, access, enrollment_id, form, dry_run=not confirm)
    except NotFound:
        return ws.page("ws_fejl.html.j2", access, {"error": "Forløbet findes ikke."}, 404)
    except IbaError as exc:
        return _enrollment_page(request, access, enrollment_id, {"error": sentence(exc)}, 422)
    if confirm:
        return _enrollment_page(
            request, access, enrollment_id, {"notice": f"Gemt: {change.summary}.", "done": change}
        )
    return _enrollment_page(request, access, enrollment_id, {"preview": change})
