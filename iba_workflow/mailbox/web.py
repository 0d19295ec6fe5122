"""The dev mailbox's web page (FastAPI + Jinja2, Danish) and its JSON API.

- ``GET /``: the received messages, newest first.
- ``GET /m/{id}``: one message: headers, the text with clickable links, the HTML in a
  sandboxed iframe (no scripts, no same-origin; links open in a new tab), attachments.
- ``GET /m/{id}/raw``: the message as received.
- ``GET /api/messages`` / ``GET /api/messages/{id}`` / ``DELETE /api/messages``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from markupsafe import Markup, escape

from .store import URL_PATTERN, MessageStore, StoredMessage


def linkify(text: str | None) -> Markup:
    """Escape ``text`` and make its http(s) URLs clickable."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for match in URL_PATTERN.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def preview_document(html: str) -> str:
    """The HTML body for ``<iframe srcdoc>``, with links opening outside the frame."""
    base = '<base target="_blank">'
    lower = html.lower()
    at = lower.find("<head>")
    if at >= 0:
        return html[: at + 6] + base + html[at + 6 :]
    return base + html


def create_mailbox_app(store: MessageStore, *, templates_dir: Path) -> FastAPI:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(templates_dir) / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["linkify"] = linkify
    env.filters["lokal_tid"] = copenhagen_time
    env.filters["preview"] = preview_document

    def page(name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(**ctx)
        return HTMLResponse(html, status_code=status_code)

    def one(message_id: int) -> StoredMessage:
        found = store.get(message_id)
        if found is None:
            raise HTTPException(status_code=404, detail="Beskeden findes ikke (længere).")
        return found

    app = FastAPI(title="iba-workflow postkasse", docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return page("mailbox_list.html.j2", messages=store.all())

    @app.get("/m/{message_id}", response_class=HTMLResponse)
    def show(message_id: int) -> HTMLResponse:
        found = store.get(message_id)
        if found is None:
            return page("mailbox_missing.html.j2", status_code=404, message_id=message_id)
        return page("mailbox_message.html.j2", m=found)

    @app.get("/m/{message_id}/raw", response_class=PlainTextResponse)
    def raw(message_id: int) -> PlainTextResponse:
        return PlainTextResponse(one(message_id).raw.decode("utf-8", errors="replace"))

    @app.post("/clear")
    def clear_form() -> RedirectResponse:
        store.clear()
        return RedirectResponse("/", status_code=303)

    @app.get("/api/messages")
    def api_list() -> dict[str, Any]:
        messages = store.all()
        return {"total": len(messages), "messages": [m.to_json() for m in messages]}

    @app.get("/api/messages/{message_id}")
    def api_one(message_id: int) -> dict[str, Any]:
        return one(message_id).to_json()

    @app.delete("/api/messages")
    def api_clear() -> dict[str, Any]:
        store.clear()
        return {"total": 0}

    return app


def copenhagen_time(value: dt.datetime) -> str:
    """A received instant as people here read it: Copenhagen time, with the offset shown
    (``01.03.2027 09:05:00 (+01:00)``), never UTC."""
    from iba_workflow.clock import COPENHAGEN

    local = value.astimezone(COPENHAGEN) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    local = local.astimezone(COPENHAGEN)
    offset = local.strftime("%z")
    return f"{local:%d.%m.%Y %H:%M:%S} ({offset[:3]}:{offset[3:]})"
