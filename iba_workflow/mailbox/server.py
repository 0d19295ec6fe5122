"""Running the dev mailbox: aiosmtpd SMTP and uvicorn HTTP in one asyncio loop.

``async with running_mailbox(...) as mailbox:`` starts both, yields once both listen
(port 0 picks a free port; ``mailbox.smtp_port``/``http_port`` say which), and stops both
on exit. :func:`run_mailbox` runs until cancelled (or until uvicorn sees Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
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


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_remote_bind(host: str, *, allow_remote: bool) -> None:
    """The dev mailbox shows every mail it receives — task links included — to anyone
    who can open its page, so it listens on loopback only unless told otherwise."""
    if allow_remote or is_loopback(host):
        return
    raise MailError(
        f"the dev mailbox listens only on loopback (127.0.0.1, ::1, localhost), not on "
        f"{host}: its page shows every mail, task links included, to anyone who can reach it",
        hint="use --host 127.0.0.1, or --allow-remote (IBA_MAILBOX_ALLOW_REMOTE=true) if "
        "every machine that can reach it may read the mail",
    )


@contextlib.asynccontextmanager
async def running_mailbox(
    *,
    host: str = "127.0.0.1",
    smtp_port: int = 1025,
    http_port: int = 8025,
    templates_dir: Path,
    clock: Clock | None = None,
    limit: int = 500,
    allow_remote: bool = False,
) -> AsyncIterator[Mailbox]:
    refuse_remote_bind(host, allow_remote=allow_remote)
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
    allow_remote: bool = False,
) -> None:
    """Run until cancelled or until the HTTP server exits (Ctrl-C); then stop both."""
    async with running_mailbox(
        allow_remote=allow_remote,
        host=host,
        smtp_port=smtp_port,
        http_port=http_port,
        templates_dir=templates_dir,
        clock=clock,
        limit=limit,
    ) as mailbox:
        await asyncio.shield(mailbox.http_task)
