"""Meetings with several attendees in the record: propose the first times where everyone
is free (working hours, fixed commitments, calendars, saved schedules and booked
meetings; working days only), book the one the coordinator picks, or the first once the
deadline has passed, and write the invitations (.ics) for staff and external contacts.

Invitations carry the meeting's title, time and place, never a citizen detail: no name,
no reference, no e-mail of hers. Functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

import icalendar
from sqlmodel import Session, col, select

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.clock import Clock
from iba_workflow.errors import InvalidTransition, NotFound
from iba_workflow.mail.invitations import (
    DEFAULT_DOMAIN,
    CalendarAttachment,
    Method,
    check_address,
)
from iba_workflow.mail.message import build_message
from iba_workflow.mail.render import RenderedMail, assert_no_cpr
from iba_workflow.store.records import audit, pk
from iba_workflow.store.tables import CitizenRow, EnrollmentRow, StaffRow

from .grid import TZ
from .meetings import first_free_slots
from .model import WEEKDAY_NAMES, Busy, Person, ScheduleError, TimeRange
from .records import BusyReader, citizen_person, read_contacts, staff_person
from .tables import MeetingRow, PlacementRow

DEFAULT_OPENING = TimeRange(dt.time(8, 0), dt.time(16, 0))


def _booked_busy(
    session: Session, *, staff_id: int | None, enrollment_id: int | None
) -> list[Busy]:
    out = []
    for m in session.exec(select(MeetingRow).where(MeetingRow.status == "booked")):
        if m.start is None or m.end is None:
            continue
        if (staff_id is not None and staff_id in m.staff_ids) or (
            enrollment_id is not None and m.enrollment_id == enrollment_id and m.citizen_attends
        ):
            out.append(Busy(m.start, m.end, f"møde {m.id}"))
    return out


def _placement_busy(session: Session, person: str, first: dt.date, last: dt.date) -> list[Busy]:
    rows = session.exec(
        select(PlacementRow).where(
            PlacementRow.person == person,
            col(PlacementRow.week) >= first - dt.timedelta(days=6),
            col(PlacementRow.week) <= last,
        )
    )
    return [Busy(r.start, r.end, r.name) for r in rows]


def attendees_of(
    session: Session,
    *,
    enrollment_id: int | None,
    staff_ids: Sequence[int],
    citizen_attends: bool,
    first: dt.date,
    last: dt.date,
    busy_reader: BusyReader | None,
) -> list[Person]:
    from .week import planned_busy

    planned = planned_busy(session, first, last)
    people = []
    for sid in staff_ids:
        extra = _booked_busy(session, staff_id=sid, enrollment_id=None)
        extra += _placement_busy(session, f"staff:{sid}", first, last)
        extra += planned[f"staff:{sid}"]
        people.append(
            staff_person(
                session, sid, first=first, last=last, busy_reader=busy_reader, extra_busy=extra
            )
        )
    if citizen_attends and enrollment_id is not None:
        enrollment = session.get(EnrollmentRow, enrollment_id)
        if enrollment is None:
            raise NotFound(f"no enrollment {enrollment_id}")
        citizen = session.get(CitizenRow, enrollment.citizen_id)
        assert citizen is not None
        base = citizen_person(session, pk(citizen), citizen.ref)
        extra = _booked_busy(session, staff_id=None, enrollment_id=enrollment_id)
        extra += _placement_busy(session, citizen.ref, first, last)
        extra += planned[citizen.ref]
        people.append(Person(base.ref, base.commitments, tuple(extra)))
    return people


def propose_meeting(
    session: Session,
    *,
    title: str,
    minutes: int,
    staff_ids: Sequence[int],
    contact_ids: Sequence[int] = (),
    enrollment_id: int | None,
    citizen_attends: bool = True,
    earliest: dt.datetime,
    calendar: WorkingCalendar,
    now: dt.datetime,
    actor: str,
    place: str | None = None,
    deadline: dt.datetime | None = None,
    opening: TimeRange = DEFAULT_OPENING,
    count: int = 3,
    busy_reader: BusyReader | None = None,
) -> MeetingRow:
    """Store a meeting with the first ``count`` times where every attendee is free."""
    if not staff_ids:
        raise ScheduleError("a meeting needs at least one staff member", hint="--staff EMAIL")
    for sid in staff_ids:
        if session.get(StaffRow, sid) is None:
            raise NotFound(f"no staff member {sid}")
    if contact_ids:
        read_contacts(session, at=now, actor=actor, purpose="meeting", ids=contact_ids)
    first = earliest.astimezone(TZ).date()
    last = first + dt.timedelta(days=90)
    people = attendees_of(
        session,
        enrollment_id=enrollment_id,
        staff_ids=staff_ids,
        citizen_attends=citizen_attends,
        first=first,
        last=last,
        busy_reader=busy_reader,
    )
    starts = first_free_slots(
        people, minutes=minutes, earliest=earliest, calendar=calendar, opening=opening, count=count
    )
    if not starts:
        raise ScheduleError(
            f"no time in the next 90 days where all {len(people)} attendees are free",
            hint="ask an attendee to free time, or give fewer attendees",
        )
    row = MeetingRow(
        enrollment_id=enrollment_id,
        title=title,
        minutes=minutes,
        staff_ids=list(staff_ids),
        contact_ids=list(contact_ids),
        citizen_attends=citizen_attends,
        proposals=[s.astimezone(dt.UTC).isoformat() for s in starts],
        status="proposed",
        place=place,
        deadline=deadline,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="meeting_proposed",
        entity="schedule_meeting",
        entity_id=row.id,
        enrollment_id=enrollment_id,
        proposals=row.proposals,
    )
    return row


def book_meeting(
    session: Session,
    meeting_id: int,
    *,
    choice: int = 1,
    now: dt.datetime,
    actor: str,
    busy_reader: BusyReader | None = None,
) -> MeetingRow:
    """Book proposal number ``choice`` (1 = the first). Refused if an attendee has become
    busy at that time since it was proposed."""
    row = session.get(MeetingRow, meeting_id)
    if row is None:
        raise NotFound(f"no meeting {meeting_id}", hint="iba schedule meeting list")
    if row.status != "proposed":
        raise InvalidTransition(f"meeting {meeting_id} is {row.status}, not proposed")
    if not 1 <= choice <= len(row.proposals):
        raise ScheduleError(
            f"meeting {meeting_id} has {len(row.proposals)} proposals; {choice} is not one",
            hint=f"choose 1 to {len(row.proposals)}",
        )
    start = dt.datetime.fromisoformat(row.proposals[choice - 1])
    end = start + dt.timedelta(minutes=row.minutes)
    day = start.astimezone(TZ).date()
    people = attendees_of(
        session,
        enrollment_id=row.enrollment_id,
        staff_ids=row.staff_ids,
        citizen_attends=row.citizen_attends,
        first=day,
        last=day,
        busy_reader=busy_reader,
    )
    from .meetings import is_free

    busy = [p.ref for p in people if not is_free(p, start.astimezone(TZ), end.astimezone(TZ))]
    if busy:
        raise ScheduleError(
            f"{', '.join(busy)} is no longer free at proposal {choice}",
            hint="propose the meeting again: iba schedule meeting propose ...",
        )
    row.status, row.start, row.end, row.booked_at = "booked", start, end, now
    session.add(row)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        action="meeting_booked",
        entity="schedule_meeting",
        entity_id=row.id,
        enrollment_id=row.enrollment_id,
        start=start,
    )
    return row


def book_due_meetings(
    session: Session,
    *,
    now: dt.datetime,
    actor: str,
    busy_reader: BusyReader | None = None,
) -> list[MeetingRow]:
    """Meetings whose deadline has passed without a choice: book the first proposal that
    is still free for everyone."""
    booked = []
    due = session.exec(
        select(MeetingRow).where(MeetingRow.status == "proposed", col(MeetingRow.deadline) <= now)
    )
    for row in list(due):
        for n in range(1, len(row.proposals) + 1):
            try:
                booked.append(
                    book_meeting(
                        session,
                        pk(row),
                        choice=n,
                        now=now,
                        actor=actor,
                        busy_reader=busy_reader,
                    )
                )
                break
            except ScheduleError:
                continue
    return booked


# --- invitations -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingInvitation:
    to: str
    message: EmailMessage


def meeting_ics(
    row: MeetingRow,
    *,
    organizer: str,
    attendees: Sequence[str],
    stamp: dt.datetime,
    domain: str = DEFAULT_DOMAIN,
    method: Method = "REQUEST",
) -> bytes:
    """One event per meeting for its whole life (same UID); a move raises SEQUENCE, a
    cancellation is METHOD:CANCEL with STATUS:CANCELLED."""
    if row.start is None or row.end is None:
        raise InvalidTransition(f"meeting {row.id} is not booked")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//iba-workflow//meeting//DA")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = icalendar.Event()
    ev.add("uid", f"meeting-{row.id}@{domain}")
    ev.add("sequence", row.sequence)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("summary", row.title)
    ev.add("dtstart", row.start.astimezone(TZ))
    ev.add("dtend", row.end.astimezone(TZ))
    if row.place:
        ev.add("location", row.place)
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    ev.add("organizer", icalendar.vCalAddress(f"mailto:{check_address(organizer)}"))
    for address in dict.fromkeys(a.lower() for a in attendees):
        value = icalendar.vCalAddress(f"mailto:{check_address(address)}")
        value.params["ROLE"] = "REQ-PARTICIPANT"
        value.params["PARTSTAT"] = "NEEDS-ACTION"
        ev.add("attendee", value)
    cal.add_component(ev)
    cal.add_missing_timezones()
    data = cal.to_ical()
    assert_no_cpr(data.decode("utf-8"))
    return data


def invitations(
    session: Session,
    meeting_id: int,
    *,
    clock: Clock,
    sender: str,
    actor: str,
) -> list[OutgoingInvitation]:
    """One mail with the .ics per staff attendee and external contact. The first staff
    member is the organizer."""
    row = session.get(MeetingRow, meeting_id)
    if row is None or row.start is None or row.end is None:
        raise InvalidTransition(f"meeting {meeting_id} is not booked")
    if row.status not in ("booked", "cancelled"):
        raise InvalidTransition(f"meeting {meeting_id} is {row.status}: book it first")
    staff = [session.get(StaffRow, sid) for sid in row.staff_ids]
    staff_mails = [s.email for s in staff if s is not None]
    contacts = (
        read_contacts(
            session, at=clock.now(), actor=actor, purpose="invitation", ids=row.contact_ids
        )
        if row.contact_ids
        else []
    )
    everyone = staff_mails + [c.email for c in contacts]
    method: Method = "CANCEL" if row.status == "cancelled" else "REQUEST"
    ics = meeting_ics(
        row, organizer=staff_mails[0], attendees=everyone, stamp=clock.now(), method=method
    )
    start = row.start.astimezone(TZ)
    when = (
        f"{WEEKDAY_NAMES[start.weekday()]} {start:%d.%m.%Y} kl. {start:%H:%M}–"
        f"{row.end.astimezone(TZ):%H:%M}"
    )
    if method == "CANCEL":
        text = f"Mødet er aflyst: {row.title}\nDet var: {when}\n"
        subject = f"Aflyst: {row.title}"
    elif row.sequence > 0:
        text = f"Mødet er flyttet: {row.title}\nNyt tidspunkt: {when}\n"
        subject = f"Flyttet: {row.title}"
    else:
        text = f"Du er inviteret til: {row.title}\nTidspunkt: {when}\n"
        subject = f"Mødeindkaldelse: {row.title}"
    if row.place:
        text += f"Sted: {row.place}\n"
    text += "Invitationen er vedhæftet som kalenderfil (.ics).\n"
    html = "<p>" + text.replace("\n", "<br>\n") + "</p>"
    rendered = RenderedMail(subject=subject, text=text, html=html)
    out = []
    for n, address in enumerate(everyone):
        message = build_message(
            outbox_id=f"meeting-{row.id}-{row.sequence}-{n}",
            rendered=rendered,
            sender=sender,
            to=[address],
            clock=clock,
            calendar=CalendarAttachment(method, ics),
        )
        out.append(OutgoingInvitation(address, message))
    return out


def municipality_of(
    session: Session, *, enrollment_id: int | None, staff_ids: Sequence[int]
) -> str:
    """Whose working days a meeting is on: the enrollment's municipality, else the first
    staff member's."""
    if enrollment_id is not None:
        enrollment = session.get(EnrollmentRow, enrollment_id)
        if enrollment is None:
            raise NotFound(f"no enrollment {enrollment_id}", hint="iba status")
        return enrollment.municipality
    for sid in staff_ids:
        member = session.get(StaffRow, sid)
        if member is not None:
            return member.municipality
    raise ScheduleError("a meeting needs at least one staff member", hint="--staff EMAIL")
