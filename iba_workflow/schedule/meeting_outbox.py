"""A booked, moved or cancelled meeting's invitations go through the outbox, like every
other mail: one row per staff attendee and per external contact (company contact,
mentor), written in the booking's transaction and sent by the dispatcher with the
``.ics`` (``iba dispatch``). The row carries ids only: which meeting, which SEQUENCE, which
staff member or contact; the dispatcher reads the contact's address (audited) when it
sends. A row whose meeting has changed since (a higher SEQUENCE) is not sent: the newer
rows carry the change. External contacts have no staff id: their row is addressed on
behalf of the meeting's organizer (its first staff member) and names the contact."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlmodel import Session

from iba_workflow.clock import Clock
from iba_workflow.errors import InvalidTransition, NotFound
from iba_workflow.settings import Settings
from iba_workflow.store.outbox import enqueue
from iba_workflow.store.tables import OutboxRow, StaffRow

from .meeting_store import invitations
from .records import read_contacts
from .tables import MeetingRow

if TYPE_CHECKING:
    from iba_workflow.dispatch.compose import Composed, Skipped

MEETING_KIND = "schedule_meeting"
ACTOR = "dispatcher"


def enqueue_meeting_mails(session: Session, meeting_id: int, *, now: dt.datetime) -> int:
    """One outbox row per attendee for the meeting as it is now; the number written."""
    row = session.get(MeetingRow, meeting_id)
    if row is None:
        raise NotFound(f"no meeting {meeting_id}", hint="iba schedule meeting list")
    if row.status not in ("booked", "cancelled") or not row.staff_ids:
        raise InvalidTransition(f"meeting {meeting_id} is {row.status}: book it first")
    organizer = row.staff_ids[0]
    people = [("staff_id", sid, sid) for sid in row.staff_ids]
    people += [("contact_id", cid, organizer) for cid in row.contact_ids]
    made = 0
    for field, ident, addressed_to in people:
        if enqueue(
            session,
            message_id=f"{MEETING_KIND}/{row.id}/{row.sequence}/{row.status}/{field}-{ident}",
            kind=MEETING_KIND,
            recipient_staff_id=addressed_to,
            now=now,
            enrollment_id=row.enrollment_id,
            payload={"meeting_id": row.id, "sequence": row.sequence, field: ident},
            status="pending",  # not a step notification: no digest, sent as it is
        ):
            made += 1
    session.flush()
    return made


def compose_meeting_mail(
    session: Session, row: OutboxRow, *, settings: Settings, clock: Clock
) -> Composed | Skipped:
    """The invitation (or update, or cancellation) of one outbox row, for its one
    recipient: a dispatch ``Composed``, or ``Skipped`` with the reason."""
    from iba_workflow.dispatch.compose import Composed, Skipped

    meeting = session.get(MeetingRow, int(row.payload.get("meeting_id") or 0))
    if meeting is None:
        return Skipped("no such meeting")
    if meeting.sequence != row.payload.get("sequence"):
        return Skipped("the meeting changed since; a newer invitation carries it")
    if "contact_id" in row.payload:
        found = read_contacts(
            session,
            at=clock.now(),
            actor=ACTOR,
            purpose="invitation",
            ids=[int(row.payload["contact_id"])],
        )
        address: str | None = found[0].email
    else:
        staff = session.get(StaffRow, int(row.payload.get("staff_id") or 0))
        address = staff.email if staff is not None else None
    if address is None:
        return Skipped("the attendee is gone")
    for mail in invitations(
        session, meeting.id or 0, clock=clock, sender=settings.mail_from, actor=ACTOR
    ):
        if mail.to.lower() == address.lower():
            return Composed(mail.message, (mail.to,))
    return Skipped("no longer invited")
