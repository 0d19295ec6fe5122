"""The ``iba`` Typer application. Every IbaError becomes a sentence and an exit code,
never a traceback."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from iba_workflow.errors import DefinitionError, IbaError

app = typer.Typer(
    name="iba",
    help="iba-workflow: interventions (indsatser) planned on Danish working days.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)


def fail(exc: IbaError) -> None:
    """Print a user-facing error and exit 1."""
    if isinstance(exc, DefinitionError):
        err.print(exc.render(), markup=False, highlight=False)
    else:
        err.print(f"error: {exc.message}", markup=False, highlight=False)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", markup=False, highlight=False)
    raise typer.Exit(1)


def _register() -> None:
    # the order is the order of ``iba --help``: the record's commands before the others
    from . import (  # noqa: I001
        apikey_cmd,  # noqa: F401  (iba apikey)
        engine_cmd,  # noqa: F401  (db, staff, citizen, visit, status, complete, replan, ...)
        budget_cmd,  # noqa: F401  (iba staff notify; iba simulate --budget)
        definitions_cmd,  # noqa: F401  (registers commands on ``app``)
        demo_cmd,  # noqa: F401  (iba demo)
        dispatch_cmd,  # noqa: F401  (iba dispatch)
        handover_cmd,  # noqa: F401  (iba handover list / decide)
        mail_cmd,  # noqa: F401  (iba mailbox)
        privacy_cmd,  # noqa: F401  (iba report, citizen extract, retention, identity)
        schedule_cmd,  # noqa: F401  (iba schedule: commitments, hours, contacts, feeds)
        schedule_meeting_cmd,  # noqa: F401  (iba schedule meeting)
        schedule_week_cmd,  # noqa: F401  (iba schedule week / solve / attendance)
        serve_cmd,  # noqa: F401  (iba serve)
        up_cmd,  # noqa: F401  (iba up)
        web_cmd,  # noqa: F401  (iba web)
    )


_register()


def main() -> None:
    try:
        app()
    except IbaError as exc:  # pragma: no cover - commands catch their own
        try:
            fail(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)
