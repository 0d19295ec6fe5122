"""Mine notifikationer: the signed-in person's choice per kind between the morning digest
and a mail at once (the same rows as ``iba staff notify``), and her calendar feed
(create, replace, stop: the same code as ``iba staff feed``). Only her own: the routes
take no staff id, and the policy allows only the owner (``Kind.OWN_NOTIFICATIONS``).
The feed's secret address is shown once and never logged (log redaction covers
``/kalender/``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from iba_workflow.dispatch.feed import feed_url, has_feed, new_feed_token, revoke_feed
from iba_workflow.dispatch.preferences import KINDS, MODES, preferences_of, set_preference
from iba_workflow.errors import IbaError
from iba_workflow.identity import policy
from iba_workflow.identity.policy import Action, Kind, PageAccess, Resource
from iba_workflow.store.work import unit_of_work
from iba_workflow.web.guard import PostedForm

from .context import workspace_of

router = APIRouter()
PATH = "/mine-notifikationer"
MODE_WORDS = {"digest": "I morgenoversigten", "immediate": "Med det samme (egen mail)"}


def _own(access: PageAccess, action: Action) -> int:
    """The signed-in person's staff id, once the policy allows ``action`` on her own."""
    staff_id = access.signed_in.staff_id
    policy.require(
        access.actor, action, Resource(kind=Kind.OWN_NOTIFICATIONS, owner_staff_id=staff_id)
    )
    return staff_id


def _page(
    request: Request,
    access: PageAccess,
    *,
    notice: str | None = None,
    error: str | None = None,
    feed: str | None = None,
    status: int = 200,
) -> Response:
    ws = workspace_of(request)
    staff_id = _own(access, Action.VIEW)
    with unit_of_work(ws.ident.session_factory) as session:
        chosen = preferences_of(session, staff_id, ws.ident.settings.notify_default)
        feeding = has_feed(session, staff_id)
    return ws.page(
        "ws_notifikationer.html.j2", access,
        {"chosen": chosen, "kinds": KINDS, "modes": MODE_WORDS, "has_feed": feeding,
         "feed_url": feed, "notice": notice, "error": error, "section": "notifikationer"},
        status,
    )  # fmt: skip


@router.get(PATH)
def mine_notifikationer(
    request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.OWN_NOTIFICATIONS)
) -> Response:
    return _page(request, access)


@router.post(PATH)
def gem_valg(
    request: Request,
    form: PostedForm,
    access: PageAccess = policy.page(Action.MANAGE, Kind.OWN_NOTIFICATIONS),
) -> Response:
    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    staff_id = _own(access, Action.MANAGE)
    wanted = {kind: str(form.get(kind, "")) for kind in KINDS if form.get(kind) is not None}
    if not wanted or any(mode not in MODES for mode in wanted.values()):
        return _page(
            request, access, status=422,
            error="Vælg for hver slags enten morgenoversigten eller med det samme.",
        )  # fmt: skip
    try:
        with unit_of_work(ws.ident.session_factory) as session:
            for kind, mode in wanted.items():
                set_preference(session, staff_id=staff_id, kind=kind, mode=mode, now=ws.now())
    except IbaError:
        return _page(request, access, error="Valget kunne ikke gemmes. Prøv igen.", status=422)
    return _page(request, access, notice="Dine valg er gemt.")


@router.post(PATH + "/kalender")
def kalender(
    request: Request,
    form: PostedForm,
    access: PageAccess = policy.page(Action.MANAGE, Kind.OWN_NOTIFICATIONS),
) -> Response:
    ws = workspace_of(request)
    if not ws.csrf_ok(access, str(form.get("csrf", ""))):
        return ws.page("adgang_naegtet.html.j2", access, {"reason": "csrf"}, 400)
    staff_id = _own(access, Action.MANAGE)
    action = str(form.get("handling", ""))
    if action == "stop":
        with unit_of_work(ws.ident.session_factory) as session:
            stopped = revoke_feed(session, staff_id=staff_id)
        text = "Din kalender-adresse er stoppet." if stopped else "Du havde ingen kalender."
        return _page(request, access, notice=text)
    if action not in ("opret", "erstat"):
        return _page(request, access, error="Ukendt handling. Brug knapperne.", status=422)
    with unit_of_work(ws.ident.session_factory) as session:
        token = new_feed_token(session, staff_id=staff_id, now=ws.now())
    url = feed_url(ws.ident.settings.base_url, token)
    text = (
        "Din nye kalender-adresse er klar; den gamle virker ikke længere."
        if action == "erstat"
        else "Din kalender-adresse er klar."
    )
    return _page(request, access, notice=text, feed=url)
