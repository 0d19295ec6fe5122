"""``iba schedule``: fixed commitments, staff hours and calendars, contacts and feeds.
The week and meetings are in ``schedule_week_cmd``. Each command is one transaction."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .app import app
from .common import run_command, store_session

out = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
schedule_app = typer.Typer(
    help="Week schedules: fixed commitments, the solver, meetings, clashes, feeds.",
    no_args_is_help=True,
)
commitment_app = typer.Typer(
    help="Fixed commitments (language school, childcare, ...).", no_args_is_help=True
)
contact_app = typer.Typer(
    help="External contacts of an enrollment (personal data).", no_args_is_help=True
)
feed_app = typer.Typer(
    help=".ics subscription feeds (secret, revocable URLs).", no_args_is_help=True
)
app.add_typer(schedule_app, name="schedule")
schedule_app.add_typer(commitment_app, name="commitment")
schedule_app.add_typer(contact_app, name="contact")
schedule_app.add_typer(feed_app, name="feed")

DateOpt = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")]
StaffOpt = Annotated[str | None, typer.Option("--staff", help="A staff member's e-mail.")]


def calendar_reader() -> Any:
    """Staff calendars over the network, with ``IBA_CALDAV_PASSWORD`` for CalDAV users."""
    from iba_workflow.schedule.records import busy_reader
    from iba_workflow.settings import Settings

    password = Settings().caldav_password
    return busy_reader(password.get_secret_value() if password else None)


def _owner(session: object, ref: str | None, staff: str | None) -> tuple[int | None, int | None]:
    from iba_workflow.errors import InvalidInput
    from iba_workflow.schedule.records import staff_by_email
    from iba_workflow.store.records import citizen_by_ref, pk

    if (ref is None) == (staff is None):
        raise InvalidInput("give a citizen reference or --staff EMAIL (one of them)")
    if ref is not None:
        return pk(citizen_by_ref(session, ref)), None  # type: ignore[arg-type]
    return None, pk(staff_by_email(session, staff or ""))  # type: ignore[arg-type]


def _replan_her(session: Any, ctx: Any, citizen_id: int | None) -> str:
    """Her own days changed: re-plan her active enrollments (steps on her own days)."""
    from iba_workflow.engine.own_days import replan_own_days

    if citizen_id is None:
        return ""
    changed = replan_own_days(session, ctx, citizen_id)
    return f"; {changed} planned steps changed" if changed else ""


@commitment_app.command("add")
def commitment_add(
    ref: Annotated[str | None, typer.Argument(help="The citizen's reference.")] = None,
    label: Annotated[str, typer.Option(help="What it is: sprogskole, børnepasning, ...")] = "",
    time: Annotated[str, typer.Option(help="HH:MM-HH:MM, e.g. 08:30-14:30.")] = "",
    weekday: Annotated[str | None, typer.Option(help="Weekly on: mandag ... fredag.")] = None,
    on: DateOpt = None,
    valid_from: Annotated[
        dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")
    ] = None,
    valid_to: Annotated[
        dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")
    ] = None,
    counts: Annotated[bool, typer.Option("--counts", help="Counts in her weekly hours.")] = False,
    staff: StaffOpt = None,
) -> None:
    """Add a fixed commitment: weekly (--weekday, --from/--to) or once (--on)."""
    from iba_workflow.schedule.model import Commitment, ScheduleError, TimeRange
    from iba_workflow.schedule.records import add_commitment, parse_weekday

    def action() -> None:
        if not label or not time:
            raise ScheduleError(
                "give --label and --time", hint="--label sprogskole --time 08:30-14:30"
            )
        commitment = Commitment(
            label,
            TimeRange.parse(time),
            weekday=parse_weekday(weekday) if weekday else None,
            on=on.date() if on else None,
            valid_from=valid_from.date() if valid_from else None,
            valid_to=valid_to.date() if valid_to else None,
            counts_toward_hours=counts,
        )
        with store_session() as (session, ctx):
            citizen_id, staff_id = _owner(session, ref, staff)
            row = add_commitment(
                session,
                commitment,
                at=ctx.now(),
                actor=ctx.actor,
                citizen_id=citizen_id,
                staff_id=staff_id,
            )
            moved = _replan_her(session, ctx, citizen_id)
            session.commit()
            out.print(f"commitment {row.id}: {commitment.describe()}{moved}")

    run_command(action)


@commitment_app.command("import")
def commitment_import(
    file: Annotated[Path, typer.Argument(help="An .ics file.", exists=True, dir_okay=False)],
    ref: Annotated[str | None, typer.Option("--citizen", help="The citizen's reference.")] = None,
    counts: Annotated[bool, typer.Option("--counts", help="Counts in her weekly hours.")] = False,
    staff: StaffOpt = None,
) -> None:
    """Import the events of an .ics file as fixed commitments (again: nothing doubles)."""
    from iba_workflow.schedule.records import import_ics

    def action() -> None:
        with store_session() as (session, ctx):
            citizen_id, staff_id = _owner(session, ref, staff)
            result = import_ics(
                session,
                file.read_bytes(),
                at=ctx.now(),
                actor=ctx.actor,
                citizen_id=citizen_id,
                staff_id=staff_id,
                counts_toward_hours=counts,
            )
            moved = _replan_her(session, ctx, citizen_id)
            session.commit()
            out.print(
                f"imported: {result.added} new, {result.updated} changed, "
                f"{result.unchanged} unchanged{moved}"
            )

    run_command(action)


@commitment_app.command("list")
def commitment_list(
    ref: Annotated[str | None, typer.Argument(help="The citizen's reference.")] = None,
    staff: StaffOpt = None,
) -> None:
    """List the fixed commitments of a citizen or a staff member."""
    from iba_workflow.schedule.records import commitments_of, to_commitment

    def action() -> None:
        with store_session() as (session, _):
            citizen_id, staff_id = _owner(session, ref, staff)
            rows = commitments_of(session, citizen_id=citizen_id, staff_id=staff_id)
            for r in rows:
                c = to_commitment(r)
                span = (
                    f" {r.valid_from or '…'}–{r.valid_to or '…'}" if r.weekday is not None else ""
                )
                counted = " (tæller med i timerne)" if r.counts_toward_hours else ""
                out.print(f"{r.id:>5}  {c.describe()}{span}{counted}  [{r.source}]")
            if not rows:
                out.print("no fixed commitments")

    run_command(action)


@commitment_app.command("remove")
def commitment_remove(commitment_id: int) -> None:
    """Remove a fixed commitment by its number (from `list`)."""
    from iba_workflow.schedule.records import remove_commitment
    from iba_workflow.schedule.tables import CommitmentRow

    def action() -> None:
        with store_session() as (session, ctx):
            row = session.get(CommitmentRow, commitment_id)
            citizen_id = row.citizen_id if row is not None else None
            remove_commitment(session, commitment_id, at=ctx.now(), actor=ctx.actor)
            moved = _replan_her(session, ctx, citizen_id)
            session.commit()
            out.print(f"commitment {commitment_id} removed{moved}")

    run_command(action)


@schedule_app.command("hours")
def hours(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail.")],
    days: Annotated[str, typer.Option(help="man-fre, or man,ons,fre.")] = "man-fre",
    time: Annotated[str | None, typer.Option(help="HH:MM-HH:MM; leave out for a day off.")] = None,
) -> None:
    """Set a staff member's working hours (without --time: not working those days)."""
    from iba_workflow.schedule.model import TimeRange
    from iba_workflow.schedule.records import parse_days, set_staff_hours, staff_by_email
    from iba_workflow.store.records import pk

    def action() -> None:
        with store_session() as (session, _):
            sid = pk(staff_by_email(session, email))
            set_staff_hours(session, sid, parse_days(days), TimeRange.parse(time) if time else None)
            session.commit()
            out.print(f"working hours of staff {sid}: {days} {time or 'fri'}")

    run_command(action)


@schedule_app.command("calendar")
def calendar_add(
    email: Annotated[str, typer.Argument(help="The staff member's e-mail.")],
    caldav: Annotated[str | None, typer.Option(help="A CalDAV calendar collection URL.")] = None,
    ics_url: Annotated[str | None, typer.Option(help="A published iCalendar URL.")] = None,
    username: Annotated[str | None, typer.Option(help="CalDAV user name.")] = None,
) -> None:
    """Read a staff member's busy times from a CalDAV calendar or a published .ics URL."""
    from iba_workflow.errors import InvalidInput
    from iba_workflow.schedule.records import add_staff_calendar, staff_by_email
    from iba_workflow.store.records import pk

    def action() -> None:
        if (caldav is None) == (ics_url is None):
            raise InvalidInput("give --caldav URL or --ics-url URL (one of them)")
        with store_session() as (session, ctx):
            sid = pk(staff_by_email(session, email))
            row = add_staff_calendar(
                session,
                sid,
                kind="caldav" if caldav else "ics_url",
                url=caldav or ics_url or "",
                at=ctx.now(),
                username=username,
            )
            session.commit()
            out.print(f"calendar {row.id} ({row.kind}) added for staff {sid}")

    run_command(action)


@contact_app.command("add")
def contact_add(
    enrollment: Annotated[int, typer.Argument(help="The enrollment id.")],
    role: Annotated[str, typer.Option(help="leder, fagmentor, ...")],
    name: Annotated[str, typer.Option(help="The contact's name.")],
    email: Annotated[str, typer.Option(help="The contact's e-mail.")],
    organisation: Annotated[str | None, typer.Option(help="The company.")] = None,
) -> None:
    """Add an external attendee (company manager, mentor) to an enrollment."""
    from iba_workflow.schedule.records import add_contact

    def action() -> None:
        with store_session() as (session, ctx):
            row = add_contact(
                session,
                enrollment,
                role=role,
                name=name,
                email=email,
                organisation=organisation,
                at=ctx.now(),
                actor=ctx.actor,
            )
            session.commit()
            out.print(f"contact {row.id} ({role}) added to enrollment {enrollment}")

    run_command(action)


@contact_app.command("list")
def contact_list(enrollment: Annotated[int, typer.Argument(help="The enrollment id.")]) -> None:
    """List an enrollment's contacts (the read is audited)."""
    from iba_workflow.schedule.records import read_contacts

    def action() -> None:
        with store_session() as (session, ctx):
            contacts = read_contacts(
                session, at=ctx.now(), actor=ctx.actor, purpose="cli list", enrollment_id=enrollment
            )
            session.commit()
            for c in contacts:
                out.print(f"{c.id:>5}  {c.role:<12} {c.name} <{c.email}> {c.organisation or ''}")
            if not contacts:
                out.print("no contacts")

    run_command(action)


@feed_app.command("create")
def feed_create(
    ref: Annotated[str | None, typer.Argument(help="The citizen's reference.")] = None,
    staff: StaffOpt = None,
) -> None:
    """A new secret .ics URL (shown once; only its hash is stored)."""
    from iba_workflow.schedule.feeds import FEED_PATH, create_feed
    from iba_workflow.settings import Settings

    def action() -> None:
        with store_session() as (session, ctx):
            citizen_id, staff_id = _owner(session, ref, staff)
            token, row = create_feed(
                session, at=ctx.now(), actor=ctx.actor, citizen_id=citizen_id, staff_id=staff_id
            )
            session.commit()
            base = str(Settings().base_url).rstrip("/")
            out.print(f"feed {row.id}: {base}{FEED_PATH}/{token}.ics")
            out.print(
                f"  subscribe to it in Outlook/Google; revoke: iba schedule feed revoke {row.id}"
            )

    run_command(action)


@feed_app.command("revoke")
def feed_revoke(feed_id: int) -> None:
    """Close a feed: its URL answers 404 from now on."""
    from iba_workflow.schedule.feeds import revoke_feed

    def action() -> None:
        with store_session() as (session, ctx):
            revoke_feed(session, feed_id, at=ctx.now(), actor=ctx.actor)
            session.commit()
            out.print(f"feed {feed_id} revoked")

    run_command(action)
