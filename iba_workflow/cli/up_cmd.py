"""``iba up``: the whole system as one supervised group — a Prefect server with its UI,
the deployments runner (``iba serve``), the web app (task pages, visitation API) and the
dev mailbox — after migrating the store and loading demo staff. Ctrl-C (or SIGTERM)
stops every part and everything it started.

A part that dies on its own is reported with its log, the others are stopped and
``iba up`` exits with status 1 (no silent restarts: a crash should be seen). Running
``iba up`` again on the same data directory resumes: the store and the Prefect database
are kept; the mailbox starts empty (it keeps mail in memory only).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iba_workflow.errors import IbaError

from .app import app, fail

out = Console(highlight=False, soft_wrap=True)

HostOption = Annotated[
    str, typer.Option(envvar="IBA_HOST", help="Address every part listens on (IBA_HOST).")
]
PrefectPort = Annotated[
    int,
    typer.Option(envvar="IBA_PREFECT_PORT", help="Prefect server and UI (IBA_PREFECT_PORT)."),
]
WebPort = Annotated[
    int, typer.Option(envvar="IBA_WEB_PORT", help="Task pages and API (IBA_WEB_PORT).")
]
MailboxPort = Annotated[
    int, typer.Option(envvar="IBA_MAILBOX_PORT", help="Mailbox web page (IBA_MAILBOX_PORT).")
]
SmtpPort = Annotated[
    int, typer.Option(envvar="IBA_SMTP_PORT", help="Mailbox SMTP server (IBA_SMTP_PORT).")
]
DataDir = Annotated[
    Path,
    typer.Option(envvar="IBA_DATA_DIR", help="Store, Prefect database, logs (IBA_DATA_DIR)."),
]
Interval = Annotated[
    int,
    typer.Option(
        envvar="IBA_DISPATCH_INTERVAL_SECONDS",
        min=5,
        help="Seconds between dispatcher ticks (IBA_DISPATCH_INTERVAL_SECONDS).",
    ),
]


def make_config(
    *,
    data_dir: Path,
    host: str,
    prefect_port: int,
    web_port: int,
    mailbox_port: int,
    smtp_port: int,
    dispatch_interval: int,
    demo_staff: bool = True,
) -> object:
    from iba_workflow.stack import StackConfig

    resolved = data_dir.expanduser().resolve()
    os.environ["IBA_DATA_DIR"] = str(resolved)  # Settings() in this process reads it
    return StackConfig(
        data_dir=resolved,
        host=host,
        prefect_port=prefect_port,
        web_port=web_port,
        mailbox_port=mailbox_port,
        smtp_port=smtp_port,
        dispatch_interval=dispatch_interval,
        demo_staff=demo_staff,
    )


def say(text: str) -> None:
    out.print(f"[dim]…[/dim] {text}")
    sys.stdout.flush()


def print_urls(urls: object) -> None:
    from iba_workflow.stack import StackUrls

    assert isinstance(urls, StackUrls)
    out.print()
    out.print("[bold green]Everything runs.[/bold green] Ctrl-C stops it all.")
    rows = [
        ("Prefect UI", urls.prefect_ui, "flow runs of the dispatcher and the visitations"),
        ("Task pages", urls.web, "where the links in the mails lead; POST /api/visitations"),
        ("Sign in", f"{urls.web}/log-ind", "staff sign in by an e-mail link (to the mailbox)"),
        ("Mailbox", urls.mailbox, f"every mail the system sends (SMTP {urls.smtp})"),
        ("Logs", f"{urls.data_dir}/logs/", "one file per part"),
    ]
    for label, where, what in rows:
        out.print(f"  {label:<11} [bold]{where}[/bold]  [dim]{what}[/dim]")
    out.print()
    sys.stdout.flush()


def print_demo_sign_in() -> None:
    """Who to sign in as: each municipality's demo IBA (she coordinates its interventions)."""
    from iba_workflow.demo_staff import demo_coordinator
    from iba_workflow.orchestration.runtime import load_definitions
    from iba_workflow.settings import Settings

    definitions = load_definitions(Settings())
    places = sorted({d.municipality for d in definitions.values()})
    found = [a for a in (demo_coordinator(definitions, m) for m in places) if a]
    if found:
        others = f" (or {', '.join(found[1:])})" if found[1:] else ""
        out.print(f"  Sign in as the demo coordinator [bold]{found[0]}[/bold]{others};")
        out.print("  the sign-in link arrives in the mailbox.")
        out.print()
        sys.stdout.flush()


def run_up(config: object, *, on_ready: Callable[[object], None] | None = None) -> int:
    """Start the stack, call ``on_ready(urls)``, watch until Ctrl-C or a part dies; stop
    everything. Returns the exit status (0 after Ctrl-C, 1 after a failure)."""
    from iba_workflow.stack import StackConfig, prepare_store, stack_lock, start_stack
    from iba_workflow.supervisor import Supervisor, check_ports, sigterm_as_interrupt

    assert isinstance(config, StackConfig)
    supervisor = Supervisor()
    status = 0
    with sigterm_as_interrupt():
        try:
            with stack_lock(config.data_dir):
                check_ports(config.host, config.ports())
                out.print(f"iba up — data directory {config.data_dir}")
                revision, added = prepare_store(demo_staff=config.demo_staff)
                staff = f"; {added} demo staff added" if added else ""
                out.print(f"[green]✓[/green] store at revision {revision}{staff}")
                urls = start_stack(config, supervisor, say)
                print_urls(urls)
                if config.demo_staff:
                    print_demo_sign_in()
                if on_ready is not None:
                    on_ready(urls)
                dead = supervisor.watch()
                raise dead.died()
        except KeyboardInterrupt:
            out.print("\nstopping every part …")
        except IbaError as exc:
            err_print(exc)
            status = 1
        finally:
            left = supervisor.stop()
    if left:
        out.print(f"[red]process groups still alive after SIGKILL: {left}[/red]")
        return 1
    if supervisor.children:
        out.print("stopped; no process is left")
    return status


def err_print(exc: IbaError) -> None:
    with contextlib.suppress(typer.Exit):
        fail(exc)


@app.command()
def up(
    data_dir: DataDir = Path("data"),
    host: HostOption = "127.0.0.1",
    prefect_port: PrefectPort = 4200,
    web_port: WebPort = 8000,
    mailbox_port: MailboxPort = 8025,
    smtp_port: SmtpPort = 1025,
    dispatch_interval: Interval = 60,
    demo_staff: Annotated[
        bool, typer.Option(help="Add one fictional staff member per role (idempotent).")
    ] = True,
) -> None:
    """Start everything (Prefect server + UI, iba serve, web app, mailbox) until Ctrl-C."""
    config = make_config(
        data_dir=data_dir,
        host=host,
        prefect_port=prefect_port,
        web_port=web_port,
        mailbox_port=mailbox_port,
        smtp_port=smtp_port,
        dispatch_interval=dispatch_interval,
        demo_staff=demo_staff,
    )
    raise typer.Exit(run_up(config))
