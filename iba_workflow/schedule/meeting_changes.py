"""A booked meeting that must move or be cancelled. It stays one calendar event (same
UID): a move proposes new times (the meeting's own hour no longer blocks anyone) and the
next booking goes out with a higher SEQUENCE; a cancellation goes out as METHOD:CANCEL.
Functions flush and never commit."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.errors import InvalidTransition, NotFound
from iba_workflow.store.records import audit

from .grid import TZ
from .meeting_store import DEFAULT_OPENING, attendees_of
from .meetings import first_free_slots
from .model import ScheduleError, TimeRange
from .records import BusyReader
from .tables import MeetingRow


def _booked(session: Session, meeting_id: int) -> MeetingRow:
    row = session.get(MeetingRow, meeting_id)
    if row is None:
        raise NotFound(f"no meeting {meeting_id}", hint="iba schedule meeting list")
    if row.status != "booked":
        raise InvalidTransition(f"meeting {meeting_id} is {row.status}, not booked")
    return row


def move_meeting(
    session: Session,
    meeting_id: int,
    *,
    earliest: dt.datetime,
    calendar: WorkingCalendar,
    now: dt.datetime,
    actor: str,
    opening: TimeRange = DEFAULT_OPENING,
    count: int = 3,
    busy_reader: BusyReader | None = None,
) -> MeetingRow:
    """New proposals for a booked meeting; book one of them as usual (the update goes out
    with a higher SEQUENCE, so calendars move the event instead of adding one)."""
    row = _booked(session, meeting_id)
    old = row.start
    row.status, row.start, row.end = "proposed", None, None  # its own hour is free again
    session.add(row)
    session.flush()
    first = earliest.astimezone(TZ).date()
    people = attendees_of(
        session,
        enrollment_id=row.enrollment_id,
        staff_ids=row.staff_ids,
        citizen_attends=row.citizen_attends,
        first=first,
        last=first + dt.timedelta(days=90),
        busy_reader=busy_reader,
    )
    starts = first_free_slots(
        people,
        minutes=row.minutes,
        earliest=earliest,
        calendar=calendar,
        opening=opening,
        count=count,
    )
    if not starts:
        raise ScheduleError(
            f"no time in the next 90 days where all {len(people)} attendees are free",
            hint="the meeting stays where it was; ask an attendee to free time",
        )
    row.proposals = [s.astimezone(dt.UTC).isoformat() for s in starts]
    row.sequence += 1
    session.add(row)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="meeting_moving",
        entity="schedule_meeting",
        entity_id=row.id,
        enrollment_id=row.enrollment_id,
        was=old,
        proposals=row.proposals,
    )
    return row


def cancel_meeting(
    session: Session, meeting_id: int, *, now: dt.datetime, actor: str
) -> MeetingRow:
    """Cancel a booked meeting; its invitations then go out as METHOD:CANCEL."""
    row = _booked(session, meeting_id)
    row.status = "cancelled"
    row.sequence += 1
    session.add(row)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="meeting_cancelled",
        entity="schedule_meeting",
        entity_id=row.id,
        enrollment_id=row.enrollment_id,
    )
    return row
