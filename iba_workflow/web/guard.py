"""What every request passes through, kept out of ``app.py``: the security headers on
every response, JSON (never HTML, never a server path) for any error on ``/api/``, and
the posted form for the plain ``def`` handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iba_workflow.errors import IbaError

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
API_PREFIX = "/api/"
# An absolute path (/home/…/definitions): shown to a client as its last part only.
_SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.-]+/)+([\w.-]+)")


async def posted_form(request: Request) -> FormData:
    """Read the form on the event loop; the handler that uses it is a plain ``def``
    (FastAPI runs it in its thread pool, so the engine's database work never blocks)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


class SecurityHeaders:
    """Pure ASGI middleware: every response gets :data:`SECURITY_HEADERS` (a route may
    set its own value of one; it is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def without_paths(text: str) -> str:
    """A message for a client: no server paths (``/srv/…/x.yaml`` → ``x.yaml``)."""
    return _SERVER_PATH.sub(r"\1", text)


def api_error(exc: IbaError, status: int = 422) -> JSONResponse:
    """An :class:`IbaError` as the API answers it: a sentence and a hint, no paths."""
    body: dict[str, Any] = {"error": without_paths(exc.message)}
    if exc.hint:
        body["hint"] = without_paths(exc.hint)
    return JSONResponse(body, status_code=status, headers=SECURITY_HEADERS)


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def install_guards(app: FastAPI, *, html_error: Callable[[], str]) -> None:
    """Security headers on every response; an unexpected error is a Danish page for a
    person and JSON on the API (never a traceback, never a path)."""
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The route template, never the path: a task path holds the link token.
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route)
        if is_api(request):
            return JSONResponse(
                {
                    "error": "internal error / intern fejl",
                    "hint": "nothing was saved; try again, or tell the administrator",
                },
                status_code=500,
                headers=SECURITY_HEADERS,
            )
        return Response(
            html_error(), status_code=500, media_type="text/html", headers=SECURITY_HEADERS
        )
