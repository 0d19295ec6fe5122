"""``iba demo``: the system at work. On top of ``iba up`` (started here, or an ``iba up``
already running for the data directory), fictional citizens are enrolled in each of the
five interventions through ``POST /api/visitations``, and a dispatcher run through
Prefect sends the first mails to the mailbox. Then it keeps running until Ctrl-C.

``iba demo --fast``: a whole lifecycle of each intervention in simulated time (the same
engine, a temporary store), printed as a timeline; no servers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from iba_workflow.errors import IbaError

from .app import app, fail
from .up_cmd import (
    DataDir,
    HostOption,
    Interval,
    MailboxPort,
    PrefectPort,
    SmtpPort,
    WebPort,
    make_config,
    run_up,
)

out = Console(highlight=False, soft_wrap=True)


@app.command()
def demo(
    fast: Annotated[
        bool, typer.Option("--fast", help="Whole lifecycles in simulated time; no servers.")
    ] = False,
    every_event: Annotated[
        bool, typer.Option("--every-event", help="With --fast: list every mail and session.")
    ] = False,
    data_dir: DataDir = Path("data"),
    host: HostOption = "127.0.0.1",
    prefect_port: PrefectPort = 4200,
    web_port: WebPort = 8000,
    mailbox_port: MailboxPort = 8025,
    smtp_port: SmtpPort = 1025,
    dispatch_interval: Interval = 60,
) -> None:
    """Enrol fictional citizens in all five interventions and show mails and flow runs."""
    if fast:
        try:
            play_fast(every_event=every_event)
        except IbaError as exc:
            fail(exc)
        return
    from iba_workflow.stack import read_running

    config: Any = make_config(
        data_dir=data_dir,
        host=host,
        prefect_port=prefect_port,
        web_port=web_port,
        mailbox_port=mailbox_port,
        smtp_port=smtp_port,
        dispatch_interval=dispatch_interval,
    )
    running = read_running(config.data_dir)
    if running is None:
        raise typer.Exit(run_up(config, on_ready=play))
    out.print(f"attaching to the iba up running for {running.data_dir} (pid {running.pid})")
    try:
        play(running, attached=True)
        while True:
            time.sleep(3600)
    except IbaError as exc:
        fail(exc)
    except KeyboardInterrupt:
        out.print(f"\ndemo stopped; iba up (pid {running.pid}) keeps running")


def play(urls: Any, *, attached: bool = False) -> None:
    """Enrol the demo citizens over HTTP, start a dispatcher run, wait for the mails."""
    import httpx
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    from iba_workflow import paths
    from iba_workflow.clock import SystemClock, local_today
    from iba_workflow.demo import (
        demo_api_key,
        demo_plan,
        mailbox_total,
        next_batch,
        post_visitation,
        register_demo_citizens,
        revoke_demo_api_key,
        start_dispatcher_run,
        wait_flow_run,
    )
    from iba_workflow.engine import EngineContext, calendars_from
    from iba_workflow.orchestration.runtime import load_definitions
    from iba_workflow.settings import Settings
    from iba_workflow.store import engine_from_settings, session_factory

    settings = Settings()
    definitions = load_definitions(settings)
    clock = SystemClock()
    plan = demo_plan(definitions, local_today(clock))
    ctx = EngineContext(
        clock=clock,
        calendars=calendars_from(settings.calendars_dir or paths.calendars_dir()),
        actor="iba demo",
        channel="cli",
    )
    engine = engine_from_settings(settings)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
    )
    enrolled = []
    try:
        open_session = session_factory(engine)
        before = mailbox_total(urls.mailbox)
        with Progress(*columns, console=out) as progress:
            total = sum(e.count for e in plan)
            step = progress.add_task(
                "enrolling fictional citizens (POST /api/visitations)", total=total
            )
            batch = next_batch(open_session)
            people = register_demo_citizens(open_session, ctx, definitions, plan, batch)
            key_id, key = demo_api_key(open_session, ctx, batch)
            bearer = {"Authorization": f"Bearer {key}"}  # in memory only, never printed
            try:
                with httpx.Client(base_url=urls.web, timeout=30, headers=bearer) as web:
                    for enrolment, ref in people:
                        d = definitions[enrolment.definition_id]
                        enrolled.append((enrolment, post_visitation(web, d, enrolment, ref)))
                        progress.advance(step)
            finally:
                revoke_demo_api_key(open_session, ctx, key_id)
            tick = progress.add_task("dispatcher run through Prefect: scheduled", total=1)
            with httpx.Client(base_url=urls.prefect_api, timeout=30) as prefect:
                run = start_dispatcher_run(prefect)
                label = f"dispatcher run '{run['name']}'"
                final = wait_flow_run(
                    prefect,
                    run["id"],
                    on_state=lambda s: progress.update(tick, description=f"{label}: {s.lower()}"),
                )
            progress.update(tick, completed=1)
            mails = progress.add_task("mails arriving in the mailbox", total=None)
            arrived = _wait_for_mail(
                urls.mailbox, before, lambda n: progress.update(mails, completed=n)
            )
            progress.update(mails, total=arrived, completed=arrived)
    finally:
        engine.dispose()
    from iba_workflow.demo_staff import demo_coordinator

    coordinator = demo_coordinator(definitions, "hedensted") or "iba.hedensted@example.org"
    _print_summary(urls, enrolled, run, final, arrived, attached=attached, sign_in=coordinator)


def _wait_for_mail(mailbox: str, before: int, show: Any, quiet: float = 3.0) -> int:
    """Until the mailbox count has not changed for ``quiet`` seconds; the new count."""
    from iba_workflow.demo import mailbox_total

    last, since = -1, time.monotonic()
    while True:
        n = mailbox_total(mailbox) - before
        show(n)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return n
        time.sleep(0.5)


def _print_summary(
    urls: Any,
    enrolled: list[Any],
    run: Any,
    final: Any,
    mails: int,
    *,
    attached: bool,
    sign_in: str,
) -> None:
    from rich import box
    from rich.panel import Panel
    from rich.table import Table

    table = Table(
        title="Enrolled through POST /api/visitations",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("citizen ref", "intervention", "intake", "start", "steps"):
        table.add_column(column, no_wrap=True)
    for enrolment, e in enrolled:
        intake = enrolment.cohort or "rolling"
        steps = str(e.steps) if e.decision == "accepted" else e.decision  # waiting list
        table.add_row(e.ref, e.definition_id, intake, e.start or "-", steps)
    out.print(table)
    state = str(final.get("state_type", "")).lower()
    stops = "the demo" if attached else "the demo and every part"
    out.print(
        Panel.fit(
            f"[bold]Mailbox[/bold]     {urls.mailbox}\n"
            f"  {mails} new mails: meeting invitations (.ics) and tasks.\n"
            f"  Open one and follow its link.\n"
            f"[bold]Task pages[/bold]  {urls.web}\n"
            f"  'Bekræft' completes the step; the next tick mails what follows.\n"
            f"[bold]Prefect UI[/bold]  {urls.prefect_ui}/runs\n"
            f"  Dispatcher run '{run['name']}' ({state}); one more every tick.\n"
            f"  Deployments: the dispatcher, one visitation flow per intervention.\n"
            f"Citizens' names are fictional, kept only in citizen_identity.\n"
            f"Ctrl-C stops {stops}.",
            title="Where to look",
        )
    )
    out.print(sign_in_lines(urls.web, sign_in))
    sys.stdout.flush()


def sign_in_lines(web: str, who: str) -> str:
    """The demo's last words: where to sign in to the workspace, and as whom."""
    return (
        f"[bold]Sign in[/bold] at {web}/log-ind as the demo IBA [bold]{who}[/bold]:\n"
        f"  the sign-in link arrives in the mailbox; she lands on 'Min uge' (her week),\n"
        f"  with Forløb, Visitation and Hold in the menu."
    )


def play_fast(*, every_event: bool = False) -> None:
    from iba_workflow import paths
    from iba_workflow.demo_fast import FAST_START, condense, play_lifecycles
    from iba_workflow.engine import calendars_from
    from iba_workflow.orchestration.runtime import load_definitions

    started = time.monotonic()
    definitions = load_definitions()
    calendars = calendars_from(paths.calendars_dir())
    out.print(f"iba demo --fast: whole lifecycles in simulated time from {FAST_START}")

    def show(life: Any) -> None:
        out.rule(
            f"[bold]{life.definition_id}[/bold] · {life.name} · {life.participants} "
            f"participant{'s' if life.participants > 1 else ''}"
        )
        if every_event:
            for e in life.entries:
                out.print(f"{e.day}  {e.participant:<16} {e.what}", markup=False)
        else:
            for line in condense(life.entries):
                if line.quiet:
                    out.print(f"            [dim]… {line.quiet} in between[/dim]")
                out.print(f"{line.day}  {line.text}", markup=False)
        out.print(
            f"[dim]{life.first_day} → {life.last_day}: {life.count('completed')} steps "
            f"completed, {life.count('mail')} mails, "
            f"{life.count('enrollment')} enrollments ended[/dim]"
        )
        sys.stdout.flush()

    played = play_lifecycles(definitions, calendars, on_done=show)
    ids = ", ".join(life.definition_id for life in played)
    out.print(f"\n{len(played)} interventions played ({ids}) in {time.monotonic() - started:.1f} s")
