"""The identity pages: sign-in by e-mail link (``/log-ind``), the signed-in landing page
(``/min-side``) and sign-out (``/log-ud``, ``/log-ud-alle``). Handlers are synchronous
(FastAPI runs them in its thread pool): database work stays off the event loop."""

from __future__ import annotations

import datetime as dt
import hashlib

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response
from fastapi.responses import RedirectResponse

from iba_workflow.links.tokens import LinkState, hash_token

from . import policy
from .context import IdentityContext, identity_of
from .forms import (
    check_session_csrf,
    check_sign_in_csrf,
    pre_cookie,
    pre_cookie_value,
    set_pre_cookie,
    sign_in_csrf,
)
from .policy import Action, Kind, PageAccess
from .sessions import (
    clear_session_cookie,
    cookie_name,
    end_all_sessions,
    end_session,
    resume_session,
    set_session_cookie,
    start_session,
)
from .signin import (
    find_sign_in_token,
    normalise_address,
    request_sign_in,
    send_now,
    use_sign_in_token,
)

router = APIRouter()
WINDOW = dt.timedelta(minutes=15)
LANDING = "/min-uge"  # the workspace's start page (issue 11); /min-side leads there


def _redirect(url: str) -> Response:
    from iba_workflow.web.app import SECURITY_HEADERS

    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _form_page(
    request: Request, ident: IdentityContext, *, status: int = 200, **extra: object
) -> Response:
    cookie = pre_cookie_value(request, ident.settings)
    context: dict[str, object] = {
        "csrf": sign_in_csrf(ident.secret, cookie, ident.clock.now()),
        "error": None,
        "notice": None,
        "address": "",
        "minutes": ident.settings.signin_link_minutes,
    }
    context.update(extra)
    response: Response = ident.render("log_ind.html.j2", context, status)
    set_pre_cookie(response, cookie, ident.settings)
    return response


@router.get("/log-ind", dependencies=[policy.public("sign-in page")])
def sign_in_page(request: Request, ud: int = 0) -> Response:
    ident = identity_of(request)
    notice = "Du er logget ud." if ud else None
    return _form_page(request, ident, notice=notice)


@router.post("/log-ind", dependencies=[policy.public("sign-in request")])
def sign_in_request(
    request: Request,
    background: BackgroundTasks,
    email: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    ident = identity_of(request)
    now = ident.clock.now()
    if not check_sign_in_csrf(ident.secret, csrf, pre_cookie(request, ident.settings), now):
        return _form_page(
            request,
            ident,
            status=400,
            address=email[:254],
            error="Formularen var for gammel eller kom ikke fra denne side. Prøv igen "
            "(din browser skal tillade cookies fra denne side).",
        )
    address = normalise_address(email)[:254]
    if "@" not in address:
        return _form_page(
            request,
            ident,
            status=422,
            address=email[:254],
            error="Skriv din arbejdsmail, fx navn@kommune.dk.",
        )
    client = request.client.host if request.client else "unknown"
    by_address = hashlib.sha256(address.encode()).hexdigest()[:32]
    settings = ident.settings
    for key, limit in (
        (f"signin:ip:{client}", settings.signin_limit_per_ip),
        (f"signin:address:{by_address}", settings.signin_limit_per_address),
    ):
        verdict = ident.limiter.hit(key, limit=limit, window=WINDOW, now=now)
        if not verdict.allowed:
            minutes = max(1, -(-verdict.retry_after_seconds // 60))
            response = _form_page(
                request,
                ident,
                status=429,
                address=email[:254],
                error=f"Der er bedt om for mange links. Prøv igen om {minutes} minutter.",
            )
            response.headers["Retry-After"] = str(verdict.retry_after_seconds)
            return response
    with ident.session_factory() as db:
        outbox_id = request_sign_in(db, address=address, now=now)
        db.commit()
    if outbox_id is not None:
        background.add_task(
            send_now,
            outbox_id,
            session_factory=ident.session_factory,
            settings=ident.settings,
            clock=ident.clock,
        )
    return _redirect("/log-ind/sendt")


@router.get("/log-ind/sendt", dependencies=[policy.public("sign-in: check your mail")])
def sign_in_sent(request: Request) -> Response:
    ident = identity_of(request)
    response: Response = ident.render(
        "log_ind_sendt.html.j2", {"minutes": ident.settings.signin_link_minutes}, 200
    )
    return response


def _link_page(request: Request, ident: IdentityContext, token: str, state: LinkState) -> Response:
    status = {LinkState.VALID: 200, LinkState.UNKNOWN: 404}.get(state, 410)
    if state is not LinkState.VALID:
        refused: Response = ident.render("log_ind_link.html.j2", {"state": state.value}, status)
        return refused
    cookie = pre_cookie_value(request, ident.settings)
    csrf = sign_in_csrf(ident.secret, cookie, ident.clock.now(), token_hash=hash_token(token))
    page: Response = ident.render(
        "log_ind_link.html.j2", {"state": state.value, "csrf": csrf, "token": token}, 200
    )
    set_pre_cookie(page, cookie, ident.settings)
    return page


@router.get("/log-ind/{token}", dependencies=[policy.public("sign-in link (shows a button)")])
def sign_in_link(request: Request, token: str) -> Response:
    """GET never signs in (mail scanners open links): it shows a button."""
    ident = identity_of(request)
    with ident.session_factory() as db:
        state, _row = find_sign_in_token(db, token, now=ident.clock.now())
    return _link_page(request, ident, token, state)


@router.post("/log-ind/{token}", dependencies=[policy.public("sign-in link (spends it)")])
def sign_in_confirm(request: Request, token: str, csrf: str = Form("")) -> Response:
    ident = identity_of(request)
    now = ident.clock.now()
    cookie = pre_cookie(request, ident.settings)
    if not check_sign_in_csrf(ident.secret, csrf, cookie, now, token_hash=hash_token(token)):
        response: Response = ident.render("log_ind_link.html.j2", {"state": "csrf"}, 400)
        return response
    with ident.session_factory() as db:
        state, row = find_sign_in_token(db, token, now=now)
        if state is not LinkState.VALID or row is None:
            return _link_page(request, ident, token, state)
        if not use_sign_in_token(db, row, now=now):
            db.rollback()
            return _link_page(request, ident, token, LinkState.USED)
        old = resume_session(
            db, request.cookies.get(cookie_name(ident.settings)), now=now, settings=ident.settings
        )
        if old is not None:  # a new session id at every sign-in
            end_session(db, old, now=now)
        sid = start_session(db, staff_id=row.staff_id, now=now, settings=ident.settings)
        db.commit()
    response = _redirect(LANDING)
    set_session_cookie(response, sid, ident.settings)
    return response


@router.get("/min-side")
def landing(
    request: Request, access: PageAccess = policy.page(Action.VIEW, Kind.OWN_PAGE)
) -> Response:
    """Min side is folded into Min uge (issue 11): the old address leads there."""
    return _redirect(LANDING)


@router.post("/log-ud")
def sign_out(
    request: Request,
    csrf: str = Form(""),
    access: PageAccess = policy.page(Action.MANAGE, Kind.OWN_SESSIONS),
) -> Response:
    return _end(request, csrf, access, everywhere=False)


@router.post("/log-ud-alle")
def sign_out_everywhere(
    request: Request,
    csrf: str = Form(""),
    access: PageAccess = policy.page(Action.MANAGE, Kind.OWN_SESSIONS),
) -> Response:
    return _end(request, csrf, access, everywhere=True)


def _end(request: Request, csrf: str, access: PageAccess, *, everywhere: bool) -> Response:
    ident = identity_of(request)
    now = ident.clock.now()
    if not check_session_csrf(ident.secret, csrf, access.signed_in, now):
        refused: Response = ident.render("adgang_naegtet.html.j2", {"reason": "csrf"}, 400)
        return refused
    with ident.session_factory() as db:
        if everywhere:
            end_all_sessions(db, access.signed_in.staff_id, now=now)
        else:
            end_session(db, access.signed_in, now=now)
        db.commit()
    response = _redirect("/log-ind?ud=1")
    clear_session_cookie(response, ident.settings)
    return response
