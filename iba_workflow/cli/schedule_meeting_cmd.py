"""``iba schedule meeting``: propose, book, book-due, move, cancel, list."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from .common import run_command, store_session
from .schedule_cmd import calendar_reader, out, schedule_app

meeting_app = typer.Typer(help="Meetings with several attendees.", no_args_is_help=True)
schedule_app.add_typer(meeting_app, name="meeting")


@meeting_app.command("propose")
def meeting_propose(
    title: Annotated[str, typer.Option(help="Opstartsmøde, Midtvejssamtale, ...")],
    staff: Annotated[list[str], typer.Option(help="A staff attendee's e-mail (repeatable).")],
    earliest: Annotated[
        dt.datetime,
        typer.Option(
            "--from", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"], help="Earliest day (or day and time)."
        ),
    ],
    enrollment: Annotated[int | None, typer.Option(help="The enrollment it is about.")] = None,
    contact: Annotated[list[int] | None, typer.Option(help="A contact id (repeatable).")] = None,
    minutes: Annotated[int, typer.Option(min=15, max=480)] = 60,
    place: Annotated[str | None, typer.Option(help="Where.")] = None,
    deadline: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M"], help="Book the first proposal after this time."),
    ] = None,
    without_citizen: Annotated[bool, typer.Option(help="The citizen does not attend.")] = False,
) -> None:
    """Propose the first times where every attendee is free."""
    from iba_workflow.clock import COPENHAGEN
    from iba_workflow.schedule.meeting_store import municipality_of, propose_meeting
    from iba_workflow.schedule.records import staff_by_email
    from iba_workflow.store.records import pk

    def action() -> None:
        with store_session() as (session, ctx):
            ids = [pk(staff_by_email(session, e)) for e in staff]
            row = propose_meeting(
                session,
                title=title,
                minutes=minutes,
                staff_ids=ids,
                contact_ids=contact or [],
                enrollment_id=enrollment,
                citizen_attends=not without_citizen and enrollment is not None,
                earliest=earliest.replace(tzinfo=COPENHAGEN),
                calendar=ctx.calendars(
                    municipality_of(session, enrollment_id=enrollment, staff_ids=ids)
                ),
                now=ctx.now(),
                actor=ctx.actor,
                place=place,
                deadline=deadline.replace(tzinfo=COPENHAGEN) if deadline else None,
                busy_reader=calendar_reader(),
            )
            session.commit()
            out.print(f"meeting {row.id}: {title}, proposals:")
            _print_proposals(row)

    run_command(action)


@meeting_app.command("book")
def meeting_book(
    meeting_id: int,
    choice: Annotated[int, typer.Option(min=1, help="Proposal number.")] = 1,
    send: Annotated[bool, typer.Option(help="Queue the invitations in the outbox.")] = True,
) -> None:
    """Book a proposal; the invitations (.ics) to staff and external contacts go through
    the outbox (sent by `iba dispatch`)."""
    from iba_workflow.schedule.meeting_store import book_meeting

    def action() -> None:
        with store_session() as (session, ctx):
            row = book_meeting(
                session,
                meeting_id,
                choice=choice,
                now=ctx.now(),
                actor=ctx.actor,
                busy_reader=calendar_reader(),
            )
            session.commit()
            out.print(f"meeting {meeting_id} booked: {row.start}")
            if send:
                _send(session, ctx, meeting_id)

    run_command(action)


@meeting_app.command("book-due")
def meeting_book_due() -> None:
    """Book the first proposal of every meeting whose deadline has passed."""
    from iba_workflow.schedule.meeting_store import book_due_meetings

    def action() -> None:
        with store_session() as (session, ctx):
            rows = book_due_meetings(
                session,
                now=ctx.now(),
                actor=ctx.actor,
                busy_reader=calendar_reader(),
            )
            session.commit()
            for row in rows:
                out.print(f"meeting {row.id} booked: {row.start}")
                _send(session, ctx, row.id or 0)
            out.print(f"{len(rows)} meetings booked")

    run_command(action)


def _send(session, ctx, meeting_id: int) -> None:  # type: ignore[no-untyped-def]
    """Queue the meeting's mails in the outbox; the dispatcher sends them."""
    from iba_workflow.schedule.meeting_outbox import enqueue_meeting_mails
    from iba_workflow.schedule.tables import MeetingRow

    made = enqueue_meeting_mails(session, meeting_id, now=ctx.now())
    session.commit()
    row = session.get(MeetingRow, meeting_id)
    what = "cancellations" if row is not None and row.status == "cancelled" else "invitations"
    out.print(f"{made} {what} queued in the outbox (sent by iba dispatch)")


def _print_proposals(row) -> None:  # type: ignore[no-untyped-def]
    from iba_workflow.clock import COPENHAGEN

    for n, when in enumerate(row.proposals, 1):
        local = dt.datetime.fromisoformat(when).astimezone(COPENHAGEN)
        out.print(f"  {n}. {local:%A %d.%m.%Y kl. %H:%M}")
    out.print(f"book one: iba schedule meeting book {row.id} --choice N")


@meeting_app.command("move")
def meeting_move(
    meeting_id: int,
    earliest: Annotated[
        dt.datetime,
        typer.Option("--from", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"], help="Earliest new time."),
    ],
) -> None:
    """Propose new times for a booked meeting; booking one sends an update (same event)."""
    from iba_workflow.clock import COPENHAGEN
    from iba_workflow.schedule.meeting_changes import move_meeting
    from iba_workflow.schedule.meeting_store import municipality_of
    from iba_workflow.schedule.tables import MeetingRow

    def action() -> None:
        with store_session() as (session, ctx):
            current = session.get(MeetingRow, meeting_id)
            where = municipality_of(
                session,
                enrollment_id=current.enrollment_id if current else None,
                staff_ids=current.staff_ids if current else [],
            )
            row = move_meeting(
                session,
                meeting_id,
                earliest=earliest.replace(tzinfo=COPENHAGEN),
                calendar=ctx.calendars(where),
                now=ctx.now(),
                actor=ctx.actor,
                busy_reader=calendar_reader(),
            )
            session.commit()
            out.print(f"meeting {meeting_id} to move, proposals:")
            _print_proposals(row)

    run_command(action)


@meeting_app.command("cancel")
def meeting_cancel(
    meeting_id: int,
    send: Annotated[bool, typer.Option(help="Queue the cancellations in the outbox.")] = True,
) -> None:
    """Cancel a booked meeting; everyone invited gets a cancellation (.ics)."""
    from iba_workflow.schedule.meeting_changes import cancel_meeting

    def action() -> None:
        with store_session() as (session, ctx):
            cancel_meeting(session, meeting_id, now=ctx.now(), actor=ctx.actor)
            session.commit()
            out.print(f"meeting {meeting_id} cancelled")
            if send:
                _send(session, ctx, meeting_id)

    run_command(action)


@meeting_app.command("list")
def meeting_list() -> None:
    """Every meeting: status, time or proposals."""
    from sqlmodel import col, select

    from iba_workflow.clock import COPENHAGEN
    from iba_workflow.schedule.tables import MeetingRow

    def action() -> None:
        with store_session() as (session, _):
            rows = session.exec(select(MeetingRow).order_by(col(MeetingRow.id))).all()
            for r in rows:
                when = (
                    f"{r.start.astimezone(COPENHAGEN):%d.%m.%Y %H:%M}"
                    if r.start
                    else f"{len(r.proposals)} proposals"
                )
                out.print(f"{r.id:>5}  {r.status:<9} {when:<16} {r.title}")
            if not rows:
                out.print("no meetings")

    run_command(action)
