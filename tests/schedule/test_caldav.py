"""Staff calendars read over CalDAV from a real Radicale server."""

from __future__ import annotations

import datetime as dt

from radicale_server import CalDavServer

from iba_workflow.schedule.calendars import caldav_busy
from iba_workflow.schedule.grid import TZ


def event(uid: str, start: str, end: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//DA\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20270201T120000Z\r\n"
        f"DTSTART;TZID=Europe/Copenhagen:{start}\r\nDTEND;TZID=Europe/Copenhagen:{end}\r\n"
        f"SUMMARY:Privat aftale {uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_busy_times_come_back_from_a_caldav_calendar(caldav_server: CalDavServer) -> None:
    url = caldav_server.calendar("konsulent")
    caldav_server.put_event(url, "a", event("a", "20270302T100000", "20270302T113000"))
    caldav_server.put_event(
        url,
        "weekly",
        event("weekly", "20270301T080000", "20270301T090000", "RRULE:FREQ=WEEKLY;COUNT=3\r\n"),
    )
    caldav_server.put_event(
        url, "free", event("free", "20270303T120000", "20270303T130000", "TRANSP:TRANSPARENT\r\n")
    )
    caldav_server.put_event(url, "later", event("later", "20270601T100000", "20270601T110000"))

    busy = caldav_busy(url, dt.date(2027, 3, 1), dt.date(2027, 3, 12), auth=("iba", "x"))

    spans = [
        (b.start.astimezone(TZ).strftime("%m-%d %H:%M"), b.end.astimezone(TZ).strftime("%H:%M"))
        for b in busy
    ]
    assert spans == [("03-01 08:00", "09:00"), ("03-02 10:00", "11:30"), ("03-08 08:00", "09:00")]
    assert all("Privat" not in b.label for b in busy)  # a private summary is not kept


def test_a_published_ics_url_is_read_for_busy_times(caldav_server: CalDavServer) -> None:
    from iba_workflow.schedule.calendars import published_busy

    url = caldav_server.calendar("publiceret")
    caldav_server.put_event(url, "p1", event("p1", "20270303T130000", "20270303T143000"))
    # Radicale serves the whole collection as one .ics on GET, like a published calendar;
    # our reader sends no credentials, so the test grants them through the URL's user part.
    authed = url.replace("http://", "http://iba:x@")
    busy = published_busy(authed, dt.date(2027, 3, 1), dt.date(2027, 3, 5))
    assert [(b.start.astimezone(TZ).hour, b.end.astimezone(TZ).minute) for b in busy] == [(13, 30)]


def test_an_unreachable_calendar_is_a_sentence_not_a_traceback() -> None:
    import pytest

    from iba_workflow.schedule.calendars import caldav_busy
    from iba_workflow.schedule.model import ScheduleError

    with pytest.raises(ScheduleError, match="could not be reached") as info:
        caldav_busy("http://127.0.0.1:9/nothing/", dt.date(2027, 3, 1), dt.date(2027, 3, 5))
    assert info.value.hint


def test_a_caldav_calendar_behind_a_password(caldav_server_htpasswd: CalDavServer) -> None:
    import pytest

    from iba_workflow.schedule.model import ScheduleError
    from iba_workflow.schedule.records import busy_reader
    from iba_workflow.schedule.tables import StaffCalendarRow

    server = caldav_server_htpasswd
    url = server.calendar("laast")
    server.put_event(url, "l1", event("l1", "20270304T090000", "20270304T100000"))
    row = StaffCalendarRow(
        staff_id=1,
        kind="caldav",
        url=url,
        username="iba",
        created_at=dt.datetime(2027, 2, 1, tzinfo=dt.UTC),
    )
    first, last = dt.date(2027, 3, 1), dt.date(2027, 3, 5)

    busy = busy_reader(server.password)(row, first, last)
    assert [b.start.astimezone(TZ).hour for b in busy] == [9]
    with pytest.raises(ScheduleError, match="answered 401") as info:
        busy_reader("forkert")(row, first, last)
    assert "password" in (info.value.hint or "")
