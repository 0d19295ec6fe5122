"""``iba simulate --budget`` (the mail budget of a mix of interventions) and
``iba staff notify`` (a person's choice between the morning digest and mail at once)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from iba_workflow import paths
from iba_workflow.errors import InvalidInput

from .common import definition_by_ref, out, run_command, staff_app, store_engine, store_session


def _intakes(
    definition: str | None,
    start: dt.datetime | None,
    participants: int | None,
    scenario: str | None,
    mix: list[str] | None,
) -> object:
    from iba_workflow.budget import SCENARIOS, Intake, Scenario

    if scenario:
        if scenario not in SCENARIOS:
            raise InvalidInput(
                f"no scenario '{scenario}'", hint="scenarios: " + ", ".join(SCENARIOS)
            )
        return SCENARIOS[scenario]
    intakes = []
    for raw in mix or []:
        parts = raw.split(":")
        try:
            intakes.append(
                Intake(parts[0], int(parts[1]), dt.date.fromisoformat(parts[2]), *parts[3:4])
            )
        except (IndexError, ValueError):
            raise InvalidInput(
                f"--mix {raw!r} is not DEFINITION:PARTICIPANTS:START[:COHORT]",
                hint="e.g. --mix hop:15:2027-03-01 "
                "--mix sunde_kvinder:4:2027-02-01:hold_2027_foraar",
            ) from None
    if definition and start:
        intakes.append(Intake(definition, participants or 1, start.date()))
    if not intakes:
        raise InvalidInput(
            "nothing to simulate", hint="give --scenario, --mix or a definition and --start"
        )
    return Scenario("mix", "given on the command line", tuple(intakes))


def run_budget(
    console: Console,
    definition: str | None,
    start: dt.datetime | None,
    participants: int | None,
    scenario: str | None,
    mix: list[str] | None,
    json_lines: bool,
) -> None:
    from iba_workflow.budget import Scenario, run_scenario
    from iba_workflow.engine import calendars_from
    from iba_workflow.settings import Settings
    from iba_workflow.store import session_factory, upgrade

    chosen = _intakes(definition, start, participants, scenario, mix)
    assert isinstance(chosen, Scenario)
    with tempfile.TemporaryDirectory() as tmp:
        engine = store_engine(f"sqlite:///{Path(tmp) / 'budget.sqlite3'}")
        upgrade(engine)
        settings = Settings(data_dir=Path(tmp))
        result = run_scenario(
            chosen,
            open_session=session_factory(engine),
            calendars=calendars_from(paths.calendars_dir()),
            definition=definition_by_ref,
            settings=settings,
        )
        engine.dispose()
    if json_lines:
        for line in result.lines():
            typer.echo(json.dumps(line, ensure_ascii=False))  # one line each, never wrapped
        return
    console.print(f"scenario {chosen.name}: {chosen.description}", markup=False)
    kinds = sorted({c.kind for c in result.counts})
    for person in result.people():
        roles = next(c.roles for c in result.counts if c.person == person)
        console.print(f"\n{person} ({roles})", markup=False, highlight=False)
        table = Table("week", *kinds, "all", box=None)
        weeks = result.per_week(person)
        for week in weeks:
            row = [
                str(
                    sum(
                        c.count
                        for c in result.counts
                        if c.person == person and c.week == week and c.kind == k
                    )
                )
                for k in kinds
            ]
            table.add_row(week, *row, str(weeks[week]))
        table.add_row(
            "all", *[str(result.total(person, k)) for k in kinds], str(result.total(person))
        )
        console.print(table)


@staff_app.command("notify")
def staff_notify(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KIND=digest|immediate (repeatable); KIND 'all' sets every kind. Kinds: "
            "new_task, reminder, escalation, meeting_invitation, change, cancellation, "
            "enrollment_ended.",
        ),
    ] = None,
) -> None:
    """Show or choose, per kind, the morning digest or a mail of its own."""
    from sqlmodel import select

    from iba_workflow.dispatch.preferences import KINDS, preferences_of, set_preference
    from iba_workflow.settings import Settings
    from iba_workflow.store.tables import StaffRow

    def act() -> None:
        with store_session() as (session, ctx):
            staff = session.exec(select(StaffRow).where(StaffRow.email == email)).first()
            if staff is None:
                raise InvalidInput(f"no staff member with e-mail {email}", hint="iba staff add")
            for raw in set_ or []:
                kind, sep, mode = raw.partition("=")
                if not sep:
                    raise InvalidInput(
                        f"--set {raw!r} needs the form KIND=MODE", hint="--set new_task=immediate"
                    )
                for one in KINDS if kind.strip() == "all" else [kind.strip()]:
                    set_preference(
                        session, staff_id=staff.id or 0, kind=one, mode=mode.strip(), now=ctx.now()
                    )
            session.commit()
            chosen = preferences_of(session, staff.id or 0, Settings().notify_default)
            for kind, mode in chosen.items():
                out.print(f"{kind:<20} {mode:<10} {KINDS[kind]}")

    run_command(act)


@staff_app.command("feed")
def staff_feed(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail address.")],
    revoke: Annotated[
        bool, typer.Option(help="Stop the feed (its address stops working).")
    ] = False,
) -> None:
    """A new secret calendar-feed address (the old one stops working), or --revoke."""
    from sqlmodel import select

    from iba_workflow.dispatch.feed import feed_url, new_feed_token, revoke_feed
    from iba_workflow.settings import Settings
    from iba_workflow.store.tables import StaffRow

    def act() -> None:
        with store_session() as (session, ctx):
            staff = session.exec(select(StaffRow).where(StaffRow.email == email)).first()
            if staff is None:
                raise InvalidInput(f"no staff member with e-mail {email}", hint="iba staff add")
            if revoke:
                done = revoke_feed(session, staff_id=staff.id or 0)
                session.commit()
                out.print("feed revoked" if done else "no feed to revoke")
                return
            token = new_feed_token(session, staff_id=staff.id or 0, now=ctx.now())
            session.commit()
            out.print("Abonnér på denne adresse i din kalender (hold den hemmelig):")
            out.print(feed_url(Settings().base_url, token), markup=False, soft_wrap=True)

    run_command(act)
