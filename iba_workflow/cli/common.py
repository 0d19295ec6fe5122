"""What the commands over the record share: the console, the store as one unit of work
(``store_session``: a session on a migrated store and the engine's context, a
SystemClock), an :class:`~iba_workflow.errors.IbaError` as a sentence (``run_command``),
a definition by id or file, and the parsing of ``KEY=VALUE`` and yes/no options. The
command modules over the store import these from here, not from ``engine_cmd``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from iba_workflow import paths
from iba_workflow.errors import IbaError, InvalidInput, StoreError

from .app import app, fail

if TYPE_CHECKING:  # the store (SQLModel, SQLAlchemy) is imported by the commands using it
    from sqlmodel import Session

out = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
# the command groups several modules add to
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff members and their roles.", no_args_is_help=True)
citizen_app = typer.Typer(help="Citizens (opaque references).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(citizen_app, name="citizen")

DateOpt = Annotated[
    dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A date, YYYY-MM-DD.")
]


def store_engine(url: str | None = None) -> Any:
    from iba_workflow.settings import Settings
    from iba_workflow.store import make_engine

    return make_engine(url or Settings().resolved_database_url())


@contextmanager
def store_session() -> Iterator[tuple[Session, Any]]:
    """A session on a migrated store, and the engine context (SystemClock). The command
    is one unit of work: committed when it ends normally, rolled back on any error."""
    from sqlmodel import Session

    from iba_workflow.clock import SystemClock
    from iba_workflow.engine import EngineContext, calendars_from
    from iba_workflow.store.db import current_revision
    from iba_workflow.store.work import unit_of_work

    engine = store_engine()
    try:
        revision = current_revision(engine)
    except Exception as exc:
        raise StoreError(
            f"cannot open the database ({type(exc).__name__})",
            hint="check IBA_DATABASE_URL",
        ) from None
    if revision is None:
        raise StoreError("the database has no tables yet", hint="run: iba db upgrade")
    from iba_workflow.settings import Settings

    ctx = EngineContext(
        clock=SystemClock(),
        calendars=calendars_from(paths.calendars_dir()),
        actor="cli",
        date_window=Settings().date_window,
    )
    try:
        with unit_of_work(lambda: Session(engine, expire_on_commit=False)) as session:
            yield session, ctx
    finally:
        engine.dispose()


def run_command(action: Callable[[], None]) -> None:
    try:
        action()
    except IbaError as exc:
        fail(exc)


def definition_by_ref(ref: str) -> Any:
    from iba_workflow.catalog import find_definition_file
    from iba_workflow.definition import load_definition

    path = find_definition_file(ref, paths.definitions_dir())
    return load_definition(path, known_templates=paths.known_templates())


def key_values(values: list[str] | None, what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in values or []:
        if "=" not in raw:
            raise InvalidInput(f"{what} {raw!r} needs the form KEY=VALUE", hint=f"{what} vaegt=82")
        key, value = raw.split("=", 1)
        found[key.strip()] = value.strip()
    return found


def yes_no(value: str) -> bool:
    if value.lower() in ("yes", "ja", "true", "1", "y"):
        return True
    if value.lower() in ("no", "nej", "false", "0", "n"):
        return False
    raise InvalidInput(f"answer {value!r} is neither yes nor no")
