"""``iba dispatch``: send what is due, without Prefect (once, or every N seconds)."""

from __future__ import annotations

import contextlib
import os
from typing import Annotated

import typer
from rich.console import Console

from iba_workflow.errors import IbaError

from .app import app, fail

out = Console(highlight=False)


@app.command()
def dispatch(
    once: Annotated[bool, typer.Option("--once", help="Run one tick and stop.")] = False,
    interval: Annotated[
        int | None, typer.Option(help="Seconds between ticks (IBA_DISPATCH_INTERVAL_SECONDS).")
    ] = None,
) -> None:
    """Mark what is due, write reminders and escalations, and send the outbox by SMTP."""
    import asyncio
    import socket

    from iba_workflow import paths
    from iba_workflow.clock import SystemClock
    from iba_workflow.dispatch import run_tick
    from iba_workflow.engine import EngineContext, calendars_from
    from iba_workflow.settings import Settings
    from iba_workflow.store import engine_from_settings, session_factory

    settings = Settings()
    owner = f"dispatch-{socket.gethostname()}-{os.getpid()}"
    wait = interval or settings.dispatch_interval_seconds

    async def loop() -> None:
        engine = engine_from_settings(settings)
        factory = session_factory(engine)
        ctx = EngineContext(
            clock=SystemClock(),
            calendars=calendars_from(settings.calendars_dir or paths.calendars_dir()),
            actor="dispatcher",
            channel="dispatch",
        )
        try:
            while True:
                report = await run_tick(factory, ctx, settings, owner=owner)
                out.print(report.summary())
                if once:
                    return
                await asyncio.sleep(wait)
        finally:
            engine.dispose()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(loop())
    except IbaError as exc:
        fail(exc)
