"""Subscription feeds: a secret URL per participant or staff member (``/kalender/<token>.ics``)
that a calendar app polls. 256 random bits; only the SHA-256 of the token is stored, so a
leaked database gives no feed; revoking makes the URL answer 404 at once.

A feed holds the saved schedule (placements), booked meetings and, for a participant,
her fixed commitments. Entries name the activity and, for staff, the participant's opaque
reference; never a name. The token appears in no entry and no log line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

import icalendar
from sqlmodel import Session, col, select

from iba_workflow.errors import NotFound
from iba_workflow.mail.invitations import DEFAULT_DOMAIN
from iba_workflow.store.records import audit
from iba_workflow.store.tables import CitizenRow, EnrollmentRow

from .grid import TZ
from .records import commitments_of
from .tables import CommitmentRow, FeedRow, MeetingRow, PlacementRow

FEED_PATH = "/kalender"
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_feed(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    citizen_id: int | None = None,
    staff_id: int | None = None,
) -> tuple[str, FeedRow]:
    """A new feed; returns the token (shown once) and the row."""
    if (citizen_id is None) == (staff_id is None):
        raise ValueError("a feed belongs to one citizen or one staff member")
    token = secrets.token_urlsafe(32)
    row = FeedRow(
        token_hash=hash_token(token), citizen_id=citizen_id, staff_id=staff_id, created_at=at
    )
    session.add(row)
    session.flush()
    audit(
        session,
        at=at,
        actor=actor,
        action="feed_created",
        entity="schedule_feed",
        entity_id=row.id,
        citizen_id=citizen_id,
        staff_id=staff_id,
    )
    return token, row


def revoke_feed(session: Session, feed_id: int, *, at: dt.datetime, actor: str) -> FeedRow:
    row = session.get(FeedRow, feed_id)
    if row is None:
        raise NotFound(f"no feed {feed_id}", hint="iba schedule feed list")
    if row.revoked_at is None:
        row.revoked_at = at
        session.add(row)
        audit(
            session,
            at=at,
            actor=actor,
            action="feed_revoked",
            entity="schedule_feed",
            entity_id=feed_id,
            citizen_id=row.citizen_id,
            staff_id=row.staff_id,
        )
        session.flush()
    return row


def feed_by_token(session: Session, token: str) -> FeedRow | None:
    if not 20 <= len(token) <= 100:
        return None
    row = session.exec(select(FeedRow).where(FeedRow.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


def feed_ics(
    session: Session, row: FeedRow, *, stamp: dt.datetime, domain: str = DEFAULT_DOMAIN
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//iba-workflow//ugeskema//DA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Ugeskema")
    cal.add("x-wr-timezone", "Europe/Copenhagen")
    if row.citizen_id is not None:
        citizen = session.get(CitizenRow, row.citizen_id)
        assert citizen is not None
        person = citizen.ref
        _add_commitments(cal, commitments_of(session, citizen_id=row.citizen_id), stamp, domain)
        enrollments = [
            e.id
            for e in session.exec(
                select(EnrollmentRow).where(EnrollmentRow.citizen_id == row.citizen_id)
            )
        ]
        meetings: Iterable[MeetingRow] = session.exec(
            select(MeetingRow).where(
                MeetingRow.status == "booked",
                col(MeetingRow.enrollment_id).in_(enrollments),
                col(MeetingRow.citizen_attends).is_(True),
            )
        )
    else:
        person = f"staff:{row.staff_id}"
        _add_commitments(cal, commitments_of(session, staff_id=row.staff_id), stamp, domain)
        meetings = (
            m
            for m in session.exec(select(MeetingRow).where(MeetingRow.status == "booked"))
            if row.staff_id in m.staff_ids
        )
    for m in meetings:
        if m.start and m.end:
            ev = _event(f"meeting-{m.id}@{domain}", m.title, stamp, m.sequence)
            ev.add("dtstart", m.start.astimezone(TZ))
            ev.add("dtend", m.end.astimezone(TZ))
            if m.place:
                ev.add("location", m.place)
            cal.add_component(ev)
    placements = session.exec(
        select(PlacementRow).where(PlacementRow.person == person, PlacementRow.kind != "commitment")
    )
    for p in placements:
        summary = p.name
        if row.staff_id is not None and p.kind == "talk":
            summary = f"{p.name} · {p.key.split('/')[0]}"  # the participant's opaque ref
        ev = _event(f"placement-{p.id}@{domain}", summary, stamp)
        ev.add("dtstart", p.start.astimezone(TZ))
        ev.add("dtend", p.end.astimezone(TZ))
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _add_commitments(
    cal: icalendar.Calendar, rows: Iterable[CommitmentRow], stamp: dt.datetime, domain: str
) -> None:
    """Fixed commitments as events: weekly ones with an RRULE from their first day."""
    for c in rows:
        ev = _event(f"fast-{c.id}@{domain}", c.label, stamp)
        first = c.on_date or c.valid_from or c.created_at.date()
        if c.weekday is not None:
            while first.weekday() != c.weekday:
                first += dt.timedelta(days=1)
        ev.add("dtstart", dt.datetime.combine(first, c.start_time, tzinfo=TZ))
        ev.add("dtend", dt.datetime.combine(first, c.end_time, tzinfo=TZ))
        if c.weekday is not None:
            rule: dict[str, object] = {"FREQ": "WEEKLY", "BYDAY": _BYDAY[c.weekday]}
            if c.valid_to:
                rule["UNTIL"] = dt.datetime.combine(c.valid_to, dt.time(23, 59), tzinfo=TZ)
            ev.add("rrule", rule)
        cal.add_component(ev)


def _event(uid: str, summary: str, stamp: dt.datetime, sequence: int = 0) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("sequence", sequence)
    ev.add("summary", summary)
    return ev
