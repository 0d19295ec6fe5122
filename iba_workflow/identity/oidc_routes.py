"""The two web routes of OpenID Connect sign-in, and the log filter that keeps the
callback's code and state out of the access log.

- ``GET /log-ind/oidc``: a new attempt; the browser is sent to the provider, carrying a
  short-lived ``iba_oidc`` cookie (HttpOnly, SameSite=Lax, path ``/log-ind/oidc``) that
  binds the attempt to it.
- ``GET /log-ind/oidc/callback``: the provider's answer; on success a new session (the
  ``identity`` sessions), its cookie, and a redirect to the signed-in landing page; on
  any refusal a Danish page with a sentence and what to do, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from . import policy
from .context import identity_of
from .oidc_discovery import OidcError, ProviderUnavailable
from .oidc_signin import CALLBACK_PATH, START_PATH, OidcSignIn
from .routes import LANDING
from .sessions import is_secure, set_session_cookie, start_session

log = logging.getLogger("iba_workflow.identity.oidc")

BROWSER_COOKIE = "iba_oidc"
START_LIMIT_PER_MINUTE = 30  # per client address: a municipality's staff share one NAT
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def oidc_router(sign_in: OidcSignIn) -> APIRouter:
    router = APIRouter()

    def refused(request: Request, exc: OidcError, status: int) -> Response:
        context = {
            "message": exc.message,
            "hint": exc.hint,
            "other_account": exc.reason.startswith(("staff_", "email_")),
        }
        response: Response = identity_of(request).render("oidc_refused.html.j2", context, status)
        response.delete_cookie(BROWSER_COOKIE, path=START_PATH)
        return response

    @router.get(START_PATH, dependencies=[policy.public("OIDC sign-in: start")])
    def oidc_start(request: Request, konto: str = "") -> Response:
        """``?konto=anden``: sign in afresh at the provider (another account)."""
        ident = identity_of(request)
        if not sign_in.enabled:
            off = OidcError(
                "Log ind via identitetsudbyder er ikke slået til her.",
                reason="off",
                hint="Brug log ind med e-mail, eller bed administratoren om hjælp.",
            )
            return refused(request, off, 404)
        now = ident.clock.now()
        client = request.client.host if request.client else "unknown"
        verdict = ident.limiter.hit(
            f"oidc-start:{client}",
            limit=START_LIMIT_PER_MINUTE,
            window=dt.timedelta(minutes=1),
            now=now,
        )
        if not verdict.allowed:
            busy = OidcError(
                "Der er for mange log ind-forsøg fra din forbindelse lige nu.",
                reason="rate_limited",
                hint=f"Vent {verdict.retry_after_seconds} sekunder, og prøv igen.",
            )
            return refused(request, busy, 429)
        try:
            with ident.session_factory() as db:
                url, browser = sign_in.start(db, now=now, other_account=konto == "anden")
                db.commit()
        except OidcError as exc:
            log.warning("oidc sign-in could not start: %s", exc.reason)
            return refused(request, exc, 503)
        response = RedirectResponse(url, status_code=303, headers=NO_STORE)
        response.set_cookie(
            BROWSER_COOKIE,
            browser,
            path=START_PATH,
            max_age=600,
            httponly=True,
            samesite="lax",
            secure=is_secure(ident.settings),
        )
        return response

    @router.get(CALLBACK_PATH, dependencies=[policy.public("OIDC sign-in: callback")])
    def oidc_callback(request: Request) -> Response:
        ident = identity_of(request)
        now = ident.clock.now()
        try:
            staff_id = sign_in.finish(
                ident.session_factory,
                params=dict(request.query_params),
                browser=request.cookies.get(BROWSER_COOKIE),
                now=now,
            )
        except ProviderUnavailable as exc:
            log.warning("oidc sign-in failed: %s", exc.reason)
            return refused(request, exc, 503)
        except OidcError as exc:
            log.info("oidc sign-in refused: %s", exc.reason)
            return refused(
                request, exc, 403 if exc.reason.startswith(("staff_", "email_")) else 400
            )
        with ident.session_factory() as db:
            sid = start_session(
                db, staff_id=staff_id, now=now, settings=ident.settings, method="oidc"
            )
            db.commit()
        log.info("oidc sign-in: staff %s", staff_id)
        response = RedirectResponse(LANDING, status_code=303, headers=NO_STORE)
        set_session_cookie(response, sid, ident.settings)
        response.delete_cookie(BROWSER_COOKIE, path=START_PATH)
        return response

    return router


class HideCallbackQuery(logging.Filter):
    """On ``uvicorn.access``: the callback's query (``code``, ``state``, ``iss``) becomes
    ``?…`` before any handler formats the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(CALLBACK_PATH) and "?" in path:
                record.args = (*args[:2], f"{CALLBACK_PATH}?…", *args[3:])
        return True


def hide_callback_query_in_access_log() -> None:
    """Install :class:`HideCallbackQuery` once on the ``uvicorn.access`` logger."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideCallbackQuery) for f in access.filters):
        access.addFilter(HideCallbackQuery())
