"""``iba web``: the task pages and the visitation API (uvicorn)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from iba_workflow.errors import IbaError

from .app import app, fail

out = Console(highlight=False)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=32,
            help="Server processes (one per core; SQLite writers queue across them).",
        ),
    ] = 1,
) -> None:
    """Serve the task pages (links in the mails) and POST /api/visitations."""
    import uvicorn

    from iba_workflow.clock import SystemClock
    from iba_workflow.log_redaction import web_log_config
    from iba_workflow.settings import Settings
    from iba_workflow.store import engine_from_settings, session_factory
    from iba_workflow.web import create_app

    try:
        settings = Settings()
        engine = engine_from_settings(settings)
        application = create_app(settings, session_factory(engine), SystemClock())
    except IbaError as exc:
        fail(exc)
        return
    out.print(f"Opgavesider: http://{host}:{port}/t/<token>   (IBA_BASE_URL={settings.base_url})")
    out.print(f"Log ind:     http://{host}:{port}/log-ind")
    # Access log on, but through the redacting filter: no token or CPR in any line.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "log_config": web_log_config(),
    }
    if workers > 1:
        engine.dispose()  # each worker process opens its own (web.asgi.application)
        from iba_workflow.web.asgi import serve_workers

        serve_workers(workers, **options)
        return
    try:
        uvicorn.run(application, **options)
    finally:
        engine.dispose()
