"""Reports and personal data over its life: iba report, iba citizen extract, iba retention,
iba identity (keys). A composition root like engine_cmd: Settings, the store, the clock."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iba_workflow.errors import InvalidInput

from .app import app
from .common import citizen_app, run_command, store_engine, store_session

out = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
identity_app = typer.Typer(help="Encryption keys of the identity fields.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")
DateArg = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")]


def _write(data: bytes, output: Path | None, what: str) -> None:
    if output is None:
        if what in ("pdf", "xlsx"):
            raise InvalidInput(f"a {what} file is binary", hint="give --output FILE")
        sys.stdout.write(data.decode("utf-8"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    out.print(f"wrote {output} ({len(data)} bytes)")


@app.command()
def report(
    intervention: Annotated[str, typer.Option(help="Definition id, e.g. sunde_kvinder.")],
    from_: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    to: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    fmt: Annotated[str, typer.Option("--format", help="html, pdf, xlsx or json.")] = "html",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """A report of one intervention over a period; small numbers suppressed."""
    from iba_workflow.clock import local_today
    from iba_workflow.reports import FORMATS, build_report, render
    from iba_workflow.settings import Settings

    def act() -> None:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}", hint="use " + ", ".join(FORMATS))
        with store_session() as (session, ctx):
            made = build_report(
                session,
                definition_id=intervention,
                period_from=from_.date(),
                period_to=to.date(),
                threshold=Settings().report_min_cell,
                made_on=local_today(ctx.clock),
                charts=fmt in ("html", "pdf"),
            )
            _write(render(made, fmt), output, fmt)

    run_command(act)


@citizen_app.command("extract")
def citizen_extract(
    ref: Annotated[str, typer.Argument(help="The citizen's reference.")],
    fmt: Annotated[str, typer.Option("--format", help="json or pdf.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Everything stored about one citizen (GDPR art. 15); the extract is audited."""
    import json

    from iba_workflow.privacy.extract import build_extract, render_extract_pdf

    def act() -> None:
        if fmt not in ("json", "pdf"):
            raise InvalidInput(f"unknown format {fmt!r}", hint="use json or pdf")
        with store_session() as (session, ctx):
            data = build_extract(session, ref, actor=ctx.actor, at=ctx.now())
        if fmt == "pdf":
            _write(render_extract_pdf(data), output, "pdf")
        else:
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            _write(text.encode("utf-8"), output, "json")

    run_command(act)


@app.command()
def retention(
    apply: Annotated[bool, typer.Option("--apply", help="Delete; without it: a dry run.")] = False,
) -> None:
    """Personal data past its retention period: counts (dry run), or delete with --apply."""
    from iba_workflow.clock import local_today
    from iba_workflow.privacy.retention import apply_retention, plan_retention
    from iba_workflow.settings import Settings

    def act() -> None:
        with store_session() as (session, ctx):
            plan = plan_retention(
                session, today=local_today(ctx.clock), periods=Settings().retention_years
            )
            if apply:
                apply_retention(session, plan, actor=ctx.actor, at=ctx.now())
                session.commit()
            out.print(("deleted: " if apply else "dry run, would delete: ") + plan.summary())

    run_command(act)


@identity_app.command("new-key")
def identity_new_key() -> None:
    """Print a new key (put it FIRST in IBA_IDENTITY_KEYS, keep the old ones after it)."""
    from iba_workflow.privacy.crypto import new_key

    print(new_key())


@identity_app.command("rotate")
def identity_rotate() -> None:
    """Re-encrypt every identity field with the first key of IBA_IDENTITY_KEYS."""
    from iba_workflow.privacy.identity import seal_identity_rows

    def act() -> None:
        engine = store_engine()
        with engine.begin() as connection:
            done = seal_identity_rows(connection)
        engine.dispose()
        out.print(
            f"{done.rows} identities: {done.rewrapped} values re-encrypted, "
            f"{done.sealed} plaintext values encrypted"
        )

    run_command(act)
