"""Done when: a meeting with 5 attendees, two of them busy in a Radicale calendar, lands in
the first slot where all are free; the invitations go to staff and the external contact
with an .ics and without any citizen detail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
from radicale_server import CalDavServer
from schedule_world import START, at, context, enrolled, staff
from sqlmodel import select
from test_caldav import event

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.schedule.grid import TZ
from iba_workflow.schedule.meeting_store import (
    attendees_of,
    book_meeting,
    invitations,
    propose_meeting,
)
from iba_workflow.schedule.meetings import is_free
from iba_workflow.schedule.model import Commitment, TimeRange
from iba_workflow.schedule.records import (
    add_commitment,
    add_contact,
    add_staff_calendar,
    read_busy,
    set_staff_hours,
)
from iba_workflow.store import tables as t

CAL = calendar_for("hedensted", paths.calendars_dir())


@pytest.fixture
def session(open_session: Any) -> Any:
    with open_session() as s:
        yield s


def test_five_attendees_two_busy_in_radicale_meet_at_the_first_common_free_slot(
    session: Any, caldav_server: CalDavServer
) -> None:
    ctx = context()
    iba = staff(session, ctx, "iba")
    konsulent = staff(session, ctx, "virksomhedskonsulent")
    mentor = staff(session, ctx, "fagmentor")
    enrollment = enrolled(session, ctx, "FM-07")
    citizen = session.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "FM-07")).one()
    now = ctx.now()
    # The citizen has language school Monday 12:00-14:00; the IBA works Mon 08-15.
    add_commitment(
        session,
        Commitment("sprogskole", TimeRange(dt.time(12), dt.time(14)), weekday=0),
        at=now,
        actor="test",
        citizen_id=citizen.id,
    )
    set_staff_hours(session, iba, [0], TimeRange(dt.time(8), dt.time(15)))
    set_staff_hours(session, iba, [1, 2, 3, 4], TimeRange(dt.time(8), dt.time(16)))
    leder = add_contact(
        session,
        enrollment,
        role="leder",
        name="Lene Leder",
        email="lene@firma.example",
        organisation="Rengøring A/S",
        at=now,
        actor="test",
    )
    # Two attendees are busy in their CalDAV calendars on the real server.
    cal_k = caldav_server.calendar("konsulent-ms")
    caldav_server.put_event(cal_k, "k1", event("k1", "20270301T080000", "20270301T120000"))
    caldav_server.put_event(cal_k, "k2", event("k2", "20270302T080000", "20270302T100000"))
    cal_m = caldav_server.calendar("mentor-ms")
    caldav_server.put_event(cal_m, "m1", event("m1", "20270301T130000", "20270301T150000"))
    caldav_server.put_event(cal_m, "m2", event("m2", "20270302T093000", "20270302T110000"))
    add_staff_calendar(session, konsulent, kind="caldav", url=cal_k, at=now, username="iba")
    add_staff_calendar(session, mentor, kind="caldav", url=cal_m, at=now, username="iba")
    session.commit()

    meeting = propose_meeting(
        session,
        title="Opstartsmøde",
        minutes=60,
        staff_ids=[iba, konsulent, mentor],
        contact_ids=[leder.id],
        enrollment_id=enrollment,
        earliest=at(START, 8),
        calendar=CAL,
        now=now,
        actor="test",
        place="Virksomheden",
        busy_reader=read_busy,
    )
    session.commit()

    first = dt.datetime.fromisoformat(meeting.proposals[0]).astimezone(TZ)
    assert first == at(START + dt.timedelta(days=1), 11)  # Tuesday 11:00
    # Every earlier half hour of a working day has at least one attendee busy.
    people = attendees_of(
        session,
        enrollment_id=enrollment,
        staff_ids=[iba, konsulent, mentor],
        citizen_attends=True,
        first=START,
        last=START + dt.timedelta(days=1),
        busy_reader=read_busy,
    )
    assert len(people) == 4  # + the external contact, who has no calendar: 5 attendees
    t0 = at(START, 8)
    while t0 < first:
        if dt.time(8) <= t0.time() <= dt.time(15):
            assert not all(is_free(p, t0, t0 + dt.timedelta(hours=1)) for p in people), t0
        t0 += dt.timedelta(minutes=30)
    assert all(is_free(p, first, first + dt.timedelta(hours=1)) for p in people)

    booked = book_meeting(
        session, meeting.id, choice=1, now=now, actor="test", busy_reader=read_busy
    )
    assert booked.status == "booked" and booked.start == first
    mails = invitations(
        session, booked.id, clock=ctx.clock, sender="iba@test.invalid", actor="test"
    )
    session.commit()
    assert sorted(m.to for m in mails) == sorted(
        [
            "iba@test.invalid",
            "virksomhedskonsulent@test.invalid",
            "fagmentor@test.invalid",
            "lene@firma.example",
        ]
    )
    for m in mails:
        parts = [p for p in m.message.walk() if not p.is_multipart()]
        texts = [p.get_payload(decode=True).decode("utf-8") for p in parts]
        ics = [
            x for p, x in zip(parts, texts, strict=True) if p.get_content_type() == "text/calendar"
        ]
        assert ics, "the invitation carries an .ics"
        ev = icalendar.Calendar.from_ical(ics[0]).walk("VEVENT")[0]
        assert ev.decoded("DTSTART") == first
        assert len(ev.get("ATTENDEE")) == 4
        for text in [*texts, m.message["Subject"]]:
            assert "FM-07" not in text and "Lene" not in text  # no citizen detail, no names
    audit = session.exec(select(t.AuditRow).where(t.AuditRow.action == "read_contact")).all()
    assert audit, "reading the contact's e-mail is audited"
