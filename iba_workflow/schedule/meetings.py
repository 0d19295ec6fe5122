"""Meetings with several attendees: the first times where everyone is free. Pure.

An attendee is free at a time when it is a working day, inside the opening hours and her
own working hours, and no fixed commitment or busy period (calendar, booked meeting)
overlaps it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iba_workflow.calendar import WorkingCalendar

from .grid import TZ
from .model import Person, ScheduleError, TimeRange

HORIZON_DAYS = 90


def is_free(person: Person, start: dt.datetime, end: dt.datetime) -> bool:
    """``start``/``end`` local (Europe/Copenhagen), on one day."""
    day = start.date()
    if person.hours is not None:
        hours = person.hours.get(day.weekday())
        if hours is None or start.time() < hours.start or end.time() > hours.end:
            return False
    for c in person.commitments:
        if c.occurs_on(day):
            c_start = dt.datetime.combine(day, c.time.start, tzinfo=TZ)
            c_end = dt.datetime.combine(day, c.time.end, tzinfo=TZ)
            if c_start < end and start < c_end:
                return False
    return not any(b.start < end and start < b.end for b in person.busy)


def first_free_slots(
    attendees: Sequence[Person],
    *,
    minutes: int,
    earliest: dt.datetime,
    calendar: WorkingCalendar,
    opening: TimeRange,
    count: int = 3,
    step_minutes: int = 30,
    horizon_days: int = HORIZON_DAYS,
) -> list[dt.datetime]:
    """The first ``count`` start times (not overlapping each other) from ``earliest`` on
    where every attendee is free for ``minutes``; fewer if the horizon runs out."""
    if minutes <= 0:
        raise ScheduleError("a meeting needs a length", hint="--minutes 60")
    if earliest.tzinfo is None:
        raise ScheduleError("the earliest time needs a timezone")
    length = dt.timedelta(minutes=minutes)
    step = dt.timedelta(minutes=step_minutes)
    found: list[dt.datetime] = []
    first = earliest.astimezone(TZ)
    day = first.date()
    for _ in range(horizon_days):
        if calendar.is_working_day(day):
            t = dt.datetime.combine(day, opening.start, tzinfo=TZ)
            close = dt.datetime.combine(day, opening.end, tzinfo=TZ)
            while t + length <= close:
                if (
                    t >= first
                    and (not found or t >= found[-1] + length)
                    and all(is_free(p, t, t + length) for p in attendees)
                ):
                    found.append(t)
                    if len(found) == count:
                        return found
                t += step
        day += dt.timedelta(days=1)
    return found
