"""A calendar feed per staff member: ``<IBA_BASE_URL>/kalender/<token>.ics``, which a
calendar program subscribes to. It holds every meeting of an active enrollment that the
person attends, from 30 days back on; a moved meeting moves, a cancelled one disappears,
with no mail. The token is secret (256 random bits, only its SHA-256 stored); making a
new one revokes the old (``iba staff feed``).

Whoever has a feed gets no .ics REQUEST by mail (the feed is their calendar); the digest
still names new, moved and cancelled meetings. Events carry the same UID as mailed
invitations (``step-<id>@…``), the intervention, the step, place and an opaque
enrollment reference: no person, no link token.
"""

from __future__ import annotations

import datetime as dt
import secrets

import icalendar
from sqlmodel import Session, col, select

from iba_workflow.engine.apply import Recipients, calendar_id, is_meeting
from iba_workflow.links.tokens import hash_token, looks_like_token
from iba_workflow.mail.invitations import TZ, invitation_uid
from iba_workflow.mail.render import assert_no_cpr
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CalendarFeedRow,
    EnrollmentRow,
    StaffRow,
    StepInstanceRow,
)

HISTORY = dt.timedelta(days=30)


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/kalender/{token}.ics"


def new_feed_token(session: Session, *, staff_id: int, now: dt.datetime) -> str:
    """A new secret token for ``staff_id`` (the old one stops working); flushes."""
    token = secrets.token_urlsafe(32)
    row = session.exec(select(CalendarFeedRow).where(CalendarFeedRow.staff_id == staff_id)).first()
    if row is None:
        row = CalendarFeedRow(staff_id=staff_id, token_hash=hash_token(token), created_at=now)
    row.token_hash, row.created_at = hash_token(token), now
    session.add(row)
    session.flush()
    return token


def revoke_feed(session: Session, *, staff_id: int) -> bool:
    row = session.exec(select(CalendarFeedRow).where(CalendarFeedRow.staff_id == staff_id)).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def has_feed(session: Session, staff_id: int) -> bool:
    found = session.exec(
        select(CalendarFeedRow.id).where(CalendarFeedRow.staff_id == staff_id)
    ).first()
    return found is not None


def staff_for_token(session: Session, token: str) -> StaffRow | None:
    if not looks_like_token(token):
        return None
    row = session.exec(
        select(CalendarFeedRow).where(CalendarFeedRow.token_hash == hash_token(token))
    ).first()
    staff = session.get(StaffRow, row.staff_id) if row else None
    return staff if staff is not None and staff.active else None


def feed_ics(session: Session, staff: StaffRow, *, now: dt.datetime) -> bytes:
    """The person's meetings as one VCALENDAR (METHOD:PUBLISH)."""
    from .compose import DefinitionCache, mail_ref  # compose imports this module

    cal = icalendar.Calendar()
    cal.add("prodid", "-//iba-workflow//kalender//DA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "iba-workflow")
    cal.add("x-wr-timezone", "Europe/Copenhagen")
    since = (now - HISTORY).astimezone(TZ).date()
    definitions = DefinitionCache()
    recipients: dict[int, Recipients] = {}
    seen: set[str] = set()
    steps = session.exec(
        select(StepInstanceRow)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .where(
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            StepInstanceRow.kind != "session",
            col(StepInstanceRow.due_date) >= since,
        )
        .order_by(col(StepInstanceRow.due_date), col(StepInstanceRow.id))
    ).all()
    for step in steps:
        if not is_meeting(step):
            continue
        enrollment = session.get(EnrollmentRow, step.enrollment_id)
        assert enrollment is not None
        if enrollment.id not in recipients:
            recipients[enrollment.id or 0] = Recipients(session, enrollment)
        if staff.id not in recipients[enrollment.id or 0].for_step(step):
            continue
        d = definitions.get(session, enrollment.definition_id, enrollment.definition_version)
        spec = d.step(step.step_id)
        ev = icalendar.Event()
        uid = invitation_uid(calendar_id(step))
        if uid in seen:  # a group occurrence: one event, however many members
            continue
        seen.add(uid)
        ev.add("uid", uid)
        ev.add("sequence", step.revision)
        ev.add("dtstamp", now.astimezone(dt.UTC))
        ev.add("summary", f"{d.name} · {step.name}")
        if step.due_time is not None:
            ev.add("dtstart", dt.datetime.combine(step.due_date, step.due_time, tzinfo=TZ))
            ev.add("duration", dt.timedelta(minutes=getattr(spec, "duration_minutes", None) or 60))
        else:
            ev.add("dtstart", step.due_date)
            ev.add("dtend", step.due_date + dt.timedelta(days=1))
        place = getattr(spec, "place", None)
        if place:
            ev.add("location", place)
        ev.add("description", f"Forløb {mail_ref(step, enrollment.id or 0)}.")
        ev.add("status", "CONFIRMED")
        cal.add_component(ev)
    cal.add_missing_timezones()
    data = cal.to_ical()
    assert_no_cpr(data.decode("utf-8"))
    return data
