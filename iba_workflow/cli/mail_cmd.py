"""``iba mailbox``: the dev mailbox (SMTP in, web page out)."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.console import Console

from iba_workflow import paths
from iba_workflow.errors import IbaError

from .app import app, fail

out = Console(highlight=False)


@app.command()
def mailbox(
    smtp_port: Annotated[int, typer.Option(help="Port for SMTP (set IBA_SMTP_PORT to it).")] = 1025,
    http_port: Annotated[int, typer.Option(help="Port for the web page.")] = 8025,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")] = "127.0.0.1",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            envvar="IBA_MAILBOX_ALLOW_REMOTE",
            help="Listen on an address other than loopback (anyone reaching it reads the mail).",
        ),
    ] = False,
) -> None:
    """Run a dev mailbox: receive mail by SMTP and show it on a web page. Ctrl-C stops."""
    import asyncio

    from iba_workflow.mailbox import run_mailbox
    from iba_workflow.mailbox.server import refuse_remote_bind

    try:
        refuse_remote_bind(host, allow_remote=allow_remote)
    except IbaError as exc:
        fail(exc)
        return

    out.print(f"SMTP:  {host}:{smtp_port}   (IBA_SMTP_HOST={host} IBA_SMTP_PORT={smtp_port})")
    out.print(f"Web:   http://{host}:{http_port}/   (JSON: /api/messages)")
    out.print("Ctrl-C stopper postkassen; mails gemmes kun i hukommelsen.")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_mailbox(
                    host=host,
                    smtp_port=smtp_port,
                    http_port=http_port,
                    templates_dir=paths.templates_dir(),
                    allow_remote=allow_remote,
                )
            )
    except IbaError as exc:
        fail(exc)
