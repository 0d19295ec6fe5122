"""Running the dev mailbox: aiosmtpd SMTP and uvicorn HTTP in one asyncio loop.

``async with running_mailbox(...) as mailbox:`` starts both, yields once both listen
(port 0 picks a free port; ``mailbox.smtp_port``/``http_port`` say which), and stops both
on exit. :func:`run_mailbox` runs until cancelled (or until uvicorn sees Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from aiosmtpd.smtp import SMTP

from iba_workflow.clock import Clock, SystemClock
from iba_workflow.errors import MailError

from .store import MessageStore, StoringHandler
from .web import create_mailbox_app


@dataclass
class Mailbox:
    store: MessageStore
    host: str
    smtp_port: int
    http_port: int
    smtp_server: asyncio.AbstractServer
    http_server: uvicorn.Server
    http_task: asyncio.Task[None]

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


async def _serve(http: uvicorn.Server, *, host: str, port: int) -> None:
    # uvicorn calls sys.exit() when it cannot bind; SystemExit must not escape a task.
    try:
        await http.serve()
    except SystemExit as exc:
        raise MailError(
            f"cannot serve the mailbox web page on {host}:{port}",
            hint="is the port in use? choose another with --http-port",
        ) from exc


async def start_smtp(store: MessageStore, *, host: str, port: int) -> asyncio.Server:
    """An aiosmtpd SMTP server on the running loop; port 0 picks a free port."""
    handler = StoringHandler(store)
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(
            lambda: SMTP(handler, hostname="iba-mailbox", enable_SMTPUTF8=True, loop=loop),
            host=host,
            port=port,
        )
    except OSError as exc:
        raise MailError(
            f"cannot receive mail on {host}:{port}: {exc.strerror}",
            hint="is the port in use? choose another with --smtp-port",
        ) from exc


@contextlib.asynccontextmanager
async def running_mailbox(
    *,
    host: str = "127.0.0.1",
    smtp_port: int = 1025,
    http_port: int = 8025,
    templates_dir: Path,
    clock: Clock | None = None,
    limit: int = 500,
) -> AsyncIterator[Mailbox]:
    store = MessageStore(clock=clock or SystemClock(), limit=limit)
    smtp = await start_smtp(store, host=host, port=smtp_port)
    app = create_mailbox_app(store, templates_dir=templates_dir)
    config = uvicorn.Config(
        app, host=host, port=http_port, log_level="warning", lifespan="off", access_log=False
    )
    http = uvicorn.Server(config)
    task = asyncio.create_task(_serve(http, host=host, port=http_port))
    try:
        while not http.started:
            if task.done():
                task.result()  # raises MailError if uvicorn could not start
                raise MailError(f"the mailbox web page stopped on {host}:{http_port}")
            await asyncio.sleep(0.02)
        actual_http = http.servers[0].sockets[0].getsockname()[1]
        actual_smtp = smtp.sockets[0].getsockname()[1]
        yield Mailbox(store, host, actual_smtp, actual_http, smtp, http, task)
    finally:
        http.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, MailError):
            await asyncio.shield(task)
        smtp.close()
        await smtp.wait_closed()


async def run_mailbox(
    *,
    host: str = "127.0.0.1",
    smtp_port: int = 1025,
    http_port: int = 8025,
    templates_dir: Path,
    clock: Clock | None = None,
    limit: int = 500,
) -> None:
    """Run until cancelled or until the HTTP server exits (Ctrl-C); then stop both."""
    async with running_mailbox(
        host=host,
        smtp_port=smtp_port,
        http_port=http_port,
        templates_dir=templates_dir,
        clock=clock,
        limit=limit,
    ) as mailbox:
        await asyncio.shield(mailbox.http_task)
