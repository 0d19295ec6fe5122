"""Weekly recurrence: the dates of a repeating step between two days, on a calendar.

Pure: dates in, occurrences and skipped days out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from iba_workflow.calendar import WorkingCalendar

WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MAX_WEEKS = 1000
EPOCH_MONDAY = dt.date(2001, 1, 1)  # aligned recurrences count their weeks from here


@dataclass(frozen=True)
class Occurrence:
    number: int  # 1-based, over the occurrences that are held
    date: dt.date
    original: dt.date  # the weekday it was planned on, before any move
    reason: str | None  # why it moved, if it did


@dataclass(frozen=True)
class SkippedDay:
    date: dt.date
    reason: str


def weekly_occurrences(
    *,
    first: dt.date,
    last: dt.date | None,
    weekdays: Sequence[str],
    every_weeks: int,
    count: int | None,
    on_closed_day: str,
    calendar: WorkingCalendar,
    aligned: bool = False,
) -> tuple[list[Occurrence], list[SkippedDay]]:
    """Occurrences on ``weekdays`` every ``every_weeks`` weeks from ``first`` (inclusive) to
    ``last`` (inclusive) or until ``count`` are held. A closed day is skipped, or moved by
    ``on_closed_day``; a move onto a day already held is skipped and says so."""
    held, skipped = weekly_dates(
        first, last, weekdays, every_weeks, count, on_closed_day, calendar, aligned=aligned
    )
    occurrences = [
        Occurrence(n, date, day, reason) for n, (date, day, reason) in enumerate(held, 1)
    ]
    return occurrences, skipped


def weekly_dates(
    first: dt.date,
    last: dt.date | None,
    weekdays: Sequence[str],
    every_weeks: int,
    count: int | None,
    on_closed_day: str,
    calendar: WorkingCalendar,
    *,
    aligned: bool = False,
) -> tuple[list[tuple[dt.date, dt.date, str | None]], list[SkippedDay]]:
    """:func:`weekly_occurrences` as plain tuples, for the planner's hot path: the held
    ``(date, planned day, reason it moved)`` in order (occurrence n is item n-1)."""
    days = sorted(WEEKDAY_INDEX[w] for w in weekdays)
    if count is None and last is not None:
        plain = plain_weeks(
            first, last, days, every_weeks, on_closed_day, calendar, aligned=aligned
        )
        if plain is not None:
            return plain
    return walk_weeks(
        first, last, days, every_weeks, count, on_closed_day, calendar, aligned=aligned
    )


def first_monday(first: dt.date, every_weeks: int, aligned: bool) -> dt.date:
    """The Monday the weeks are counted from: ``first``'s, or for an ``aligned`` rhythm
    (a group's, the same for everyone) the last Monday on or before it that is a whole
    number of ``every_weeks`` after a fixed Monday."""
    monday = first - dt.timedelta(days=first.weekday())
    if aligned:
        monday -= dt.timedelta(weeks=((monday - EPOCH_MONDAY).days // 7) % every_weeks)
    return monday


def walk_weeks(
    first: dt.date,
    last: dt.date | None,
    days: list[int],
    every_weeks: int,
    count: int | None,
    on_closed_day: str,
    calendar: WorkingCalendar,
    *,
    aligned: bool = False,
) -> tuple[list[tuple[dt.date, dt.date, str | None]], list[SkippedDay]]:
    """:func:`weekly_dates` day by day, for every case (``days``: sorted weekday numbers)."""
    offsets = [(d, dt.timedelta(days=d)) for d in days]
    week_start = first_monday(first, every_weeks, aligned)
    every = dt.timedelta(weeks=every_weeks)
    limit = MAX_WEEKS * len(offsets) if count is None else count  # never more than this
    end = last if last is not None else dt.date.max
    shift = calendar.shift
    year, closed_days = 0, dict[dt.date, str]()  # closed days of the year at hand (weekends aside)
    held: list[tuple[dt.date, dt.date, str | None]] = []
    skipped: list[SkippedDay] = []
    taken: dict[dt.date, dt.date] = {}  # held date → the day it was planned on

    for _ in range(MAX_WEEKS):
        if week_start > end or len(held) >= limit:
            break
        for weekday, offset in offsets:
            day = week_start + offset
            if day < first or day > end:
                continue
            if len(held) >= limit:
                break
            if day.year != year:
                year, closed_days = day.year, calendar.closed_in(day.year)
            if weekday < 5 and day not in closed_days and day not in taken:
                taken[day] = day  # a working day, not held yet: the common case
                held.append((day, day, None))
                continue
            closed = shift(day, "next")
            date, reason = day, None
            if closed is not None:
                if on_closed_day == "skip":
                    skipped.append(SkippedDay(day, closed.reason.split(" → ")[0]))
                    continue
                moved = shift(day, on_closed_day)  # type: ignore[arg-type]
                assert moved is not None
                date, reason = moved.date, moved.reason
            if date in taken:
                skipped.append(SkippedDay(day, _already_held(day, date, reason, taken[date])))
                continue
            taken[date] = day
            held.append((date, day, reason))
        if last is None and count is None:
            break
        week_start += every
    return held, skipped


def plain_weeks(
    first: dt.date,
    last: dt.date,
    days: list[int],
    every_weeks: int,
    on_closed_day: str,
    calendar: WorkingCalendar,
    *,
    aligned: bool = False,
) -> tuple[list[tuple[dt.date, dt.date, str | None]], list[SkippedDay]] | None:
    """The common case of :func:`weekly_dates` at list speed, as :func:`walk_weeks` gives
    it: distinct weekdays Monday to Friday between two dates, no count, and no two
    occurrences moved onto one date. None for anything else: the walk handles it."""
    if not days or days[-1] >= 5 or len(set(days)) != len(days):
        return None
    monday = first_monday(first, every_weeks, aligned).toordinal()
    step = 7 * every_weeks
    lo, hi = first.toordinal(), last.toordinal()
    if (hi - monday) // step >= MAX_WEEKS:
        return None
    day = dt.date.fromordinal
    candidates = [
        day(o) for week in range(monday, hi + 1, step) for d in days if lo <= (o := week + d) <= hi
    ]
    if first.year == last.year:
        closed = calendar.closed_in(first.year)
    else:
        closed = {}
        for year in range(first.year, last.year + 1):
            closed.update(calendar.closed_in(year))
    hits = [c for c in candidates if c in closed]
    if not hits:
        return [(c, c, None) for c in candidates], []
    if on_closed_day != "skip":
        # Each closed day moves; unless two land on one date (the walk says which is
        # dropped, and why), every occurrence is held, in the order of its planned day.
        held: list[tuple[dt.date, dt.date, str | None]] = []
        for c in candidates:
            moved = calendar.shift(c, on_closed_day) if c in closed else None  # type: ignore[arg-type]
            held.append((c, c, None) if moved is None else (moved.date, c, moved.reason))
        return (held, []) if len({date for date, _, _ in held}) == len(held) else None
    skipped = []
    for c in hits:
        shift = calendar.shift(c, "next")
        assert shift is not None
        skipped.append(SkippedDay(c, shift.reason.split(" → ")[0]))
    return [(c, c, None) for c in candidates if c not in closed], skipped


def _already_held(day: dt.date, date: dt.date, reason: str | None, held_from: dt.date) -> str:
    """Why an occurrence is dropped because its date is already held (in Danish)."""
    if reason is not None:  # it was moved off a closed day onto a day already held
        return f"{reason}, allerede planlagt"
    # Its own day was taken by an earlier occurrence moved here from a closed day.
    return f"{date.isoformat()} er allerede brugt af gentagelsen fra {held_from.isoformat()}"
