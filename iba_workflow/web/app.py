"""The web app: task pages behind mail links, a health check and the visitation API.

``create_app(settings, session_factory, clock)`` builds it; nothing connects at import.
A page never shows a traceback: an unexpected error is a short Danish sentence and a 500.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, Clock
from iba_workflow.engine import EngineContext, calendars_from
from iba_workflow.errors import IbaError
from iba_workflow.mail.render import long_date
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory

from .task import Page, TaskPages
from .visitations import VisitationIn, handle_visitation, submit_through_prefect

log = logging.getLogger("iba_workflow.web")

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


def secret_key(settings: Settings) -> str:
    """``IBA_SECRET_KEY``, else a key generated once under ``data_dir``."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def _local(value: Any) -> str:
    """A stored instant as Copenhagen date and time: ``mandag den 1. marts 2027 kl. 10:05``."""
    if value is None:
        return ""
    local = value.astimezone(COPENHAGEN)
    return f"{long_date(local.date())} kl. {local:%H:%M}"


def create_app(
    settings: Settings,
    session_factory: SessionFactory,
    clock: Clock,
    *,
    templates_dir: Path | None = None,
) -> FastAPI:
    folder = Path(templates_dir or settings.templates_dir or paths.templates_dir())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dato"] = long_date
    env.filters["tidspunkt"] = _local
    calendars = calendars_from(settings.calendars_dir or paths.calendars_dir())
    pages = TaskPages(
        session_factory=session_factory,
        clock=clock,
        secret=secret_key(settings),
        calendars=calendars,
    )
    app = FastAPI(title="iba-workflow", docs_url=None, redoc_url=None, openapi_url=None)

    def render(page: Page) -> Response:
        if page.redirect:
            return RedirectResponse(page.redirect, status_code=303, headers=SECURITY_HEADERS)
        html = env.get_template(page.template).render(**page.context)
        return HTMLResponse(html, status_code=page.status, headers=SECURITY_HEADERS)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path.split("/")[1])
        html = env.get_template("task_error.html.j2").render()
        return HTMLResponse(html, status_code=500, headers=SECURITY_HEADERS)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid input / ugyldigt input", "problems": problems}, status_code=422
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.api_route("/t/{token}", methods=["GET", "HEAD"])
    @app.api_route("/l/{token}", methods=["GET", "HEAD"])
    def task_page(token: str, udfoert: int = 0) -> Response:
        return render(pages.show(token, done=bool(udfoert)))

    @app.post("/t/{token}")
    @app.post("/l/{token}")
    async def task_submit(token: str, request: Request) -> Response:
        form = await request.form()
        return render(pages.complete(token, form))

    @app.post("/t/{token}/nyt-link")
    async def task_fresh_link(token: str, request: Request) -> Response:
        form = await request.form()
        return render(pages.fresh_link(token, form))

    @app.get("/kalender/{name}")
    def calendar_feed(name: str) -> Response:
        """A staff member's calendar feed (``dispatch.feed``); an unknown or revoked token
        is a plain 404, the same for every wrong token."""
        from iba_workflow.dispatch.feed import feed_ics, staff_for_token

        token = name.removesuffix(".ics")
        with session_factory() as session:
            staff = staff_for_token(session, token)
            if staff is None:
                return Response("Ukendt kalender.", status_code=404, headers=SECURITY_HEADERS)
            data = feed_ics(session, staff, now=clock.now())
        return Response(data, media_type="text/calendar; charset=utf-8", headers=SECURITY_HEADERS)

    @app.get("/forloeb/{ref}")
    def enrollment_placeholder(ref: str) -> Response:
        """Where digest lines without a task page link to (an ended enrollment, a cancelled
        meeting). The workspace pages come with a later issue; the path is stable now."""
        if not re.fullmatch(r"F-\d{1,9}", ref):
            ref = ""
        html = env.get_template("forloeb_kommer.html.j2").render(ref=ref)
        return HTMLResponse(html, status_code=200, headers=SECURITY_HEADERS)

    @app.post("/api/visitations", status_code=201)
    def visitations(body: VisitationIn) -> Response:
        """With a Prefect API configured (``PREFECT_API_URL``), the visitation goes through
        Prefect: stored, announced by event, processed by ``<id> · visitation``. Without
        one, the engine records it here."""
        from iba_workflow.orchestration.doors import PrefectUnavailable
        from iba_workflow.orchestration.runtime import OrchestrationSettings

        ctx = EngineContext(clock=clock, calendars=calendars, actor="api", channel="api")
        where: dict[str, Any] = dict(
            session_factory=session_factory,
            ctx=ctx,
            definitions_dir=Path(settings.definitions_dir or paths.definitions_dir()),
            templates_dir=folder,
        )
        try:
            if OrchestrationSettings().prefect_api_url:
                status, answer = submit_through_prefect(body, wait_seconds=20.0, **where)
                return JSONResponse(answer, status_code=status)
            result = handle_visitation(body, **where)
        except PrefectUnavailable as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=503)
        except IbaError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=422)
        return JSONResponse(result, status_code=201)

    return app
