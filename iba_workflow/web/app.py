"""The web app: task pages behind mail links, a health check, the visitation API, and
the identity pages (sign-in, Min side, sign-out: ``identity.routes``). Every route
declares its guard from ``identity.policy``.

``create_app(settings, session_factory, clock)`` builds it; nothing connects at import.
A page never shows a traceback: an unexpected error is a short Danish sentence and a 500.
"""

from __future__ import annotations

import logging
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
from iba_workflow.errors import IbaError, NotFound
from iba_workflow.identity import policy
from iba_workflow.identity.bearer import ApiAuthError
from iba_workflow.identity.context import IdentityContext
from iba_workflow.identity.logfilter import install as install_sign_in_log_filter
from iba_workflow.identity.oidc_routes import hide_callback_query_in_access_log, oidc_router
from iba_workflow.identity.oidc_signin import OidcSignIn
from iba_workflow.identity.policy import Action, Actor, Kind
from iba_workflow.identity.routes import router as identity_router
from iba_workflow.identity.sessions import SIGN_IN_PATH, SignedIn, SignInRequired
from iba_workflow.mail.render import long_date
from iba_workflow.schedule.web import feed_router
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.write_gate import FifoSlots
from iba_workflow.workspace import workspace_router
from iba_workflow.workspace.context import make_workspace

from .guard import SECURITY_HEADERS, PostedForm, api_error, install_guards
from .secret_file import read_or_create_secret
from .task import Page, TaskPages
from .visitations import (
    VisitationIn,
    handle_visitation,
    request_status,
    submit_through_prefect,
)

log = logging.getLogger("iba_workflow.web")

#: Task-page and API requests doing their database and template work at once; the rest
#: wait their turn in arrival order (``FifoSlots``). The work holds the GIL nearly all
#: the time: eight threads at it took turns every few ms, each request took as long as
#: all eight, and a writer held SQLite's write lock while it waited for the GIL. Two: one
#: can run Python while the other waits for SQLite.
DB_WORK_SLOTS = 2


def secret_key(settings: Settings) -> str:
    """``IBA_SECRET_KEY``, else a key generated once under ``data_dir`` (0600, atomic)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return read_or_create_secret(Path(settings.data_dir) / "secret_key")


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
    slots = FifoSlots(DB_WORK_SLOTS)

    def render_template(template: str, context: dict[str, Any], status: int) -> Response:
        html = env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    app.state.identity = IdentityContext(
        settings=settings,
        session_factory=session_factory,
        clock=clock,
        secret=pages.secret,
        render=render_template,
    )
    # before identity's routes: /log-ind/{token} would otherwise take /log-ind/oidc
    oidc = OidcSignIn(settings)
    env.globals["oidc_button"] = oidc.button_label
    app.include_router(oidc_router(oidc))
    hide_callback_query_in_access_log()
    app.include_router(identity_router)
    app.state.workspace = make_workspace(app.state.identity, templates_dir=folder)
    app.include_router(workspace_router)
    install_sign_in_log_filter()

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(SIGN_IN_PATH, status_code=303, headers=SECURITY_HEADERS)

    @app.exception_handler(policy.Denied)
    async def _denied(request: Request, exc: policy.Denied) -> Response:
        return render_template("adgang_naegtet.html.j2", {"reason": "policy"}, 403)

    @app.exception_handler(ApiAuthError)
    async def _api_auth(request: Request, exc: ApiAuthError) -> Response:
        headers = {**SECURITY_HEADERS, **exc.headers()}
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    def render(page: Page) -> Response:
        if page.redirect:
            return RedirectResponse(page.redirect, status_code=303, headers=SECURITY_HEADERS)
        html = env.get_template(page.template).render(**page.context)
        return HTMLResponse(html, status_code=page.status, headers=SECURITY_HEADERS)

    install_guards(app, html_error=env.get_template("task_error.html.j2").render)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid input / ugyldigt input", "problems": problems},
            status_code=422,
            headers=SECURITY_HEADERS,
        )

    app.include_router(feed_router(session_factory, clock))  # .ics feeds (issue 12)

    @app.get("/healthz", dependencies=[policy.public("health check")])
    def healthz() -> dict[str, str]:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.api_route("/t/{token}", methods=["GET", "HEAD"])
    @app.api_route("/l/{token}", methods=["GET", "HEAD"])
    def task_page(
        token: str, udfoert: int = 0, viewer: SignedIn | None = policy.task_link()
    ) -> Response:
        with slots:
            return render(pages.show(token, done=bool(udfoert), viewer=viewer))

    # Plain ``def``: FastAPI runs them in its thread pool, so the engine's synchronous
    # database work never blocks the event loop (the form is read by ``posted_form``).
    @app.post("/t/{token}")
    @app.post("/l/{token}")
    def task_submit(
        token: str, form: PostedForm, viewer: SignedIn | None = policy.task_link()
    ) -> Response:
        with slots:
            return render(pages.complete(token, form, viewer=viewer))

    @app.post("/t/{token}/nyt-link")
    def task_fresh_link(
        token: str, form: PostedForm, viewer: SignedIn | None = policy.task_link()
    ) -> Response:
        with slots:
            return render(pages.fresh_link(token, form, viewer=viewer))

    @app.post("/api/visitations", status_code=201)
    def visitations(
        body: VisitationIn, client: Actor = policy.api(Action.CREATE, Kind.VISITATION)
    ) -> Response:
        """With a Prefect API configured (``PREFECT_API_URL``), the visitation goes through
        Prefect: stored, announced by event, processed by ``<id> · visitation``. Without
        one, the engine records it here."""
        from iba_workflow.orchestration.doors import PrefectUnavailable
        from iba_workflow.orchestration.runtime import OrchestrationSettings

        ctx = EngineContext(
            clock=clock,
            calendars=calendars,
            actor="api",
            channel="api",
            date_window=settings.date_window,
        )
        where: dict[str, Any] = dict(
            session_factory=session_factory,
            ctx=ctx,
            definitions_dir=Path(settings.definitions_dir or paths.definitions_dir()),
            templates_dir=folder,
        )
        try:
            orchestration = OrchestrationSettings()
            if orchestration.prefect_api_url:  # waits for Prefect: no slot held
                wait = orchestration.api_wait_seconds
                status, answer = submit_through_prefect(
                    body, wait_seconds=wait, submitted_by=client.label, **where
                )
                return JSONResponse(answer, status_code=status)
            with slots:
                result = handle_visitation(body, **where)
        except PrefectUnavailable as exc:
            return api_error(exc, 503)
        except IbaError as exc:
            return api_error(exc)
        return JSONResponse(result, status_code=201)

    @app.get("/api/visitations/{request_key}")
    def visitation_request(
        request_key: str, client: Actor = policy.api(Action.VIEW, Kind.VISITATION)
    ) -> Response:
        """What became of a request ``POST`` answered 202 for: ``received`` until its
        flow run has processed it, then ``processed`` (with the enrollment) or
        ``refused`` (with the engine's sentence). 404 for an unknown request, and for
        one another credential sent."""
        try:
            answer = request_status(session_factory, request_key, asker=client.label)
            return JSONResponse(answer)
        except NotFound as exc:
            return api_error(exc, 404)

    return app
