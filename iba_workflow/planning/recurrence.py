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
    ``last`` (inclusive) or until ``count`` are held. ``aligned``: the weeks are counted
    from a fixed Monday, not from ``first`` (a group's rhythm, the same for everyone).
    A closed day is skipped, or moved by ``on_closed_day``; a move onto a day already
    held is skipped and says so."""
    days = sorted(WEEKDAY_INDEX[w] for w in weekdays)
    monday = first - dt.timedelta(days=first.weekday())
    if aligned:  # every N weeks counted from a fixed Monday, the same for everyone
        monday -= dt.timedelta(weeks=((monday - EPOCH_MONDAY).days // 7) % every_weeks)
    held: list[Occurrence] = []
    skipped: list[SkippedDay] = []
    taken: dict[dt.date, dt.date] = {}  # held date → the day it was planned on

    def full() -> bool:
        return count is not None and len(held) >= count

    for week in range(MAX_WEEKS):
        week_start = monday + dt.timedelta(weeks=week * every_weeks)
        if (last is not None and week_start > last) or full():
            break
        for wd in days:
            day = week_start + dt.timedelta(days=wd)
            if day < first or (last is not None and day > last):
                continue
            if full():
                break
            closed = calendar.shift(day, "next")
            date, reason = day, None
            if closed is not None:
                if on_closed_day == "skip":
                    skipped.append(SkippedDay(day, closed.reason.split(" → ")[0]))
                    continue
                moved = calendar.shift(day, on_closed_day)  # type: ignore[arg-type]
                assert moved is not None
                date, reason = moved.date, moved.reason
            if date in taken:
                skipped.append(SkippedDay(day, _already_held(day, date, reason, taken[date])))
                continue
            taken[date] = day
            held.append(Occurrence(len(held) + 1, date, day, reason))
        if last is None and count is None:
            break
    return held, skipped


def _already_held(day: dt.date, date: dt.date, reason: str | None, held_from: dt.date) -> str:
    """Why an occurrence is dropped because its date is already held (in Danish)."""
    if reason is not None:  # it was moved off a closed day onto a day already held
        return f"{reason}, allerede planlagt"
    # Its own day was taken by an earlier occurrence moved here from a closed day.
    return f"{date.isoformat()} er allerede brugt af gentagelsen fra {held_from.isoformat()}"
