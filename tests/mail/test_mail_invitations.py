"""Meeting invitations: stable UID, SEQUENCE up on update, METHOD:CANCEL on cancel."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from iba_workflow.errors import MailError
from iba_workflow.mail import StepRef
from iba_workflow.mail.invitations import (
    Invitation,
    cancel_attachment,
    invitation_uid,
    next_sequence,
    request_attachment,
)

STAMP = dt.datetime(2027, 2, 22, 7, 30, tzinfo=dt.UTC)


def meeting(day: dt.date, hour: int = 10) -> StepRef:
    return StepRef(
        key="opstartsmoede",
        name="Opstartsmøde",
        kind="meeting",
        date=day,
        time=dt.time(hour),
        duration_minutes=60,
        place="Virksomheden",
        attendee_roles=("Leder af virksomheden", "IBA"),
    )


def invitation(step: StepRef, sequence: int) -> Invitation:
    return Invitation(
        step_instance_id=4711,
        sequence=sequence,
        intervention="Fagmentor",
        step=step,
        enrollment_ref="F-7Q2K",
        organizer="iba@hedensted.dk",
        attendees=("mentor@hedensted.dk", "konsulent@hedensted.dk"),
        workspace_url="http://127.0.0.1:8000/",
    )


def event(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    return cal, events[0]


def test_request_has_uid_tzid_and_staff_addresses_only() -> None:
    att = request_attachment(invitation(meeting(dt.date(2027, 2, 25)), 0), stamp=STAMP)
    assert att.method == "REQUEST"
    cal, ev = event(att.data)
    assert cal["METHOD"] == "REQUEST"
    assert str(ev["UID"]) == invitation_uid(4711) == "step-4711@iba-workflow.local"
    assert ev["SEQUENCE"] == 0
    assert ev["STATUS"] == "CONFIRMED"
    assert b"DTSTART;TZID=Europe/Copenhagen:20270225T100000" in att.data
    assert b"BEGIN:VTIMEZONE" in att.data
    assert ev.decoded("DTSTART") == dt.datetime(2027, 2, 25, 9, 0, tzinfo=dt.UTC)
    assert str(ev["ORGANIZER"]) == "mailto:iba@hedensted.dk"
    assert sorted(str(a) for a in ev["ATTENDEE"]) == [
        "mailto:konsulent@hedensted.dk",
        "mailto:mentor@hedensted.dk",
    ]
    assert "CN" not in ev["ORGANIZER"].params
    assert str(ev["SUMMARY"]) == "Fagmentor · Opstartsmøde"


def test_replanned_meeting_is_an_update_of_the_same_event() -> None:
    first = request_attachment(
        invitation(meeting(dt.date(2027, 2, 25)), next_sequence(None)), stamp=STAMP
    )
    moved = request_attachment(
        invitation(meeting(dt.date(2027, 2, 26), hour=13), next_sequence(0)),
        stamp=STAMP + dt.timedelta(days=1),
    )
    _, a = event(first.data)
    _, b = event(moved.data)
    assert a["UID"] == b["UID"]
    assert b["SEQUENCE"] > a["SEQUENCE"]
    assert b.decoded("DTSTART") == dt.datetime(2027, 2, 26, 12, 0, tzinfo=dt.UTC)


def test_cancelled_meeting_sends_method_cancel() -> None:
    att = cancel_attachment(invitation(meeting(dt.date(2027, 2, 25)), 2), stamp=STAMP)
    assert att.method == "CANCEL"
    cal, ev = event(att.data)
    assert cal["METHOD"] == "CANCEL"
    assert ev["STATUS"] == "CANCELLED"
    assert ev["SEQUENCE"] == 2
    assert str(ev["UID"]) == invitation_uid(4711)


def test_summer_time_offset() -> None:
    att = request_attachment(invitation(meeting(dt.date(2027, 6, 1)), 0), stamp=STAMP)
    _, ev = event(att.data)
    assert ev.decoded("DTSTART") == dt.datetime(2027, 6, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("address", ["Fatima Canary <f@hedensted.dk>", "no-at-sign", "a@b"])
def test_only_bare_staff_addresses(address: str) -> None:
    with pytest.raises(MailError):
        Invitation(
            step_instance_id=1,
            sequence=0,
            intervention="HOP",
            step=meeting(dt.date(2027, 2, 25)),
            enrollment_ref="F-1",
            organizer="iba@hedensted.dk",
            attendees=(address,),
        )


def test_negative_sequence_and_odd_ids_refused() -> None:
    with pytest.raises(MailError):
        invitation(meeting(dt.date(2027, 2, 25)), -1)
    with pytest.raises(MailError):
        invitation_uid("a b@c")


def test_no_task_link_in_calendar_data() -> None:
    """A calendar entry is shared and kept: the workspace's address, never a token."""
    att = request_attachment(invitation(meeting(dt.date(2027, 2, 25)), 0), stamp=STAMP)
    _cal, ev = event(att.data)
    description = str(ev["DESCRIPTION"])
    assert "http://127.0.0.1:8000/" in description and "/l/" not in description
    assert "/t/" not in att.data.decode() and "/l/" not in att.data.decode()
    with pytest.raises(MailError, match="may not carry a task link"):
        Invitation(
            step_instance_id=1,
            sequence=0,
            intervention="HOP",
            step=meeting(dt.date(2027, 2, 25)),
            enrollment_ref="F-1",
            organizer="iba@hedensted.dk",
            workspace_url="http://127.0.0.1:8000/t/abcdef",
        )
