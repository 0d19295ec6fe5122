"""Reading iCalendar data: fixed commitments from an ``.ics`` file (a weekly RRULE becomes
one weekly commitment per weekday, from/to kept), and busy times from any calendar
(an Outlook / Google published URL, a CalDAV report), recurrences expanded by
``recurring-ical-events``. Pure: bytes in, plain data out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import icalendar
import recurring_ical_events

from .grid import TZ
from .model import Busy, Commitment, ScheduleError, TimeRange

_BYDAY = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_WHOLE_DAY = TimeRange(dt.time(0, 0), dt.time(23, 59))
_EXPAND_DAYS = 366


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ScheduleError(
            f"the file is not valid iCalendar ({type(exc).__name__})",
            hint="export the calendar as .ics (iCalendar) and try again",
        ) from None
    if not isinstance(cal, icalendar.Calendar):
        raise ScheduleError("the file holds no VCALENDAR", hint="export it as .ics")
    return cal


def _local(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)
    return dt.datetime.combine(value, dt.time(0, 0), tzinfo=TZ)


def _span(event: Any) -> tuple[dt.datetime, dt.datetime, bool]:
    try:
        return _read_span(event)
    except (KeyError, ValueError, TypeError, AttributeError):
        uid = str(event.get("UID", "")) or "?"
        raise ScheduleError(
            f"event {uid} has no readable start or end",
            hint="check DTSTART/DTEND of that event, or export the calendar again",
        ) from None


def _read_span(event: Any) -> tuple[dt.datetime, dt.datetime, bool]:
    start_raw = event.decoded("DTSTART")
    all_day = not isinstance(start_raw, dt.datetime)
    if not isinstance(start_raw, dt.date):
        raise ValueError("DTSTART")
    start = _local(start_raw)
    if "DTEND" in event:
        end = _local(event.decoded("DTEND"))
    elif "DURATION" in event:
        end = start + event.decoded("DURATION")
    else:
        end = start + (dt.timedelta(days=1) if all_day else dt.timedelta(0))
    return start, end, all_day


def _skip(event: Any) -> bool:
    return (
        str(event.get("STATUS", "")).upper() == "CANCELLED"
        or str(event.get("TRANSP", "")).upper() == "TRANSPARENT"
    )


def commitments_from_ics(
    data: bytes | str, *, counts_toward_hours: bool = False, today: dt.date | None = None
) -> list[tuple[str, Commitment]]:
    """(UID, commitment) for every event. A weekly RRULE with BYDAY (or none: the weekday
    of DTSTART) becomes weekly commitments valid from DTSTART to UNTIL (or the last of
    COUNT occurrences); other recurrences are expanded into one-off commitments for a year
    from ``today`` (or DTSTART)."""
    cal = parse_calendar(data)
    out: list[tuple[str, Commitment]] = []
    for event in cal.walk("VEVENT"):
        if _skip(event) or "RECURRENCE-ID" in event:
            continue
        uid = str(event.get("UID", "")) or f"no-uid-{len(out)}"
        label = str(event.get("SUMMARY", "fast aftale")).strip() or "fast aftale"
        start, end, all_day = _span(event)
        time = (
            _WHOLE_DAY
            if all_day or end.date() != start.date()
            else TimeRange(start.time(), end.time())
        )
        rule = event.get("RRULE")
        if rule is None:
            out.append(
                (
                    uid,
                    Commitment(
                        label, time, on=start.date(), counts_toward_hours=counts_toward_hours
                    ),
                )
            )
            continue
        freq = str(rule.get("FREQ", [""])[0]).upper()
        interval = int(rule.get("INTERVAL", [1])[0])
        if freq == "WEEKLY" and interval == 1:
            days = [_BYDAY[str(d)[-2:].upper()] for d in rule.get("BYDAY", [])] or [start.weekday()]
            until = _until(event, rule, start)
            for weekday in days:
                out.append(
                    (
                        f"{uid}#{weekday}",
                        Commitment(
                            label,
                            time,
                            weekday=weekday,
                            valid_from=start.date(),
                            valid_to=until,
                            counts_toward_hours=counts_toward_hours,
                        ),
                    )
                )
            continue
        first = max(start.date(), today or start.date())
        for occ in _occurrences(cal, first, first + dt.timedelta(days=_EXPAND_DAYS), uid):
            s, _, _ = _span(occ)
            out.append(
                (
                    f"{uid}@{s.date()}",
                    Commitment(label, time, on=s.date(), counts_toward_hours=counts_toward_hours),
                )
            )
    return out


def _until(event: Any, rule: Any, start: dt.datetime) -> dt.date | None:
    if "UNTIL" in rule:
        return _local(rule["UNTIL"][0]).date()
    if "COUNT" in rule:
        cal = icalendar.Calendar()
        cal.add_component(event)
        last = None
        for occ in _occurrences(cal, start.date(), start.date() + dt.timedelta(days=3660)):
            last = _span(occ)[0].date()
        return last
    return None


def _occurrences(
    cal: icalendar.Calendar, first: dt.date, last: dt.date, uid: str | None = None
) -> Iterable[Any]:
    try:
        found = list(recurring_ical_events.of(cal).between(first, last + dt.timedelta(days=1)))
    except Exception as exc:  # the library's own error tree varies between versions
        raise ScheduleError(
            f"the calendar's events could not be read ({type(exc).__name__})",
            hint="check the file's DTSTART, DTEND and RRULE lines, or export it again",
        ) from None
    for occ in found:
        if uid is None or str(occ.get("UID", "")) == uid:
            yield occ


def busy_from_ics(
    data: bytes | str, first: dt.date, last: dt.date, *, label: str = "optaget i kalender"
) -> list[Busy]:
    """Busy periods between ``first`` and ``last`` (inclusive): every opaque, confirmed
    event, recurrences expanded, plus VFREEBUSY periods. Summaries are not kept (a staff
    member's private appointment stays private): every period carries ``label``."""
    cal = parse_calendar(data)
    out: list[Busy] = []
    for occ in _occurrences(cal, first, last):
        if _skip(occ):
            continue
        start, end, _ = _span(occ)
        if end > start:
            out.append(Busy(start, end, label))
    for fb in cal.walk("VFREEBUSY"):
        for prop in _as_list(fb.get("FREEBUSY")):
            if str(prop.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                continue
            for period in _as_list(prop.dts if hasattr(prop, "dts") else prop):
                start, end = period.dt if hasattr(period, "dt") else period
                if isinstance(end, dt.timedelta):
                    end = start + end
                out.append(Busy(_local(start), _local(end), label))
    return sorted(out, key=lambda b: (b.start, b.end))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
