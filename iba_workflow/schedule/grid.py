"""The slot grid of one week: which working days, which slots, and for each person which
slots are taken and by what. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from iba_workflow.calendar import WorkingCalendar

from .model import Person, TimeRange

TZ = ZoneInfo("Europe/Copenhagen")
OUTSIDE_HOURS = "uden for arbejdstid"


@dataclass(frozen=True)
class Day:
    index: int  # position among the week's working days
    date: dt.date


@dataclass
class WeekGrid:
    """Working days of the week of ``monday`` cut into ``slot_minutes`` slots inside
    ``opening``. Slot ``g`` is day ``g // per_day``, slot ``g % per_day`` of that day."""

    monday: dt.date
    opening: TimeRange
    slot_minutes: int
    days: list[Day]
    closed: dict[dt.date, str]  # weekday dates closed this week, with the reason
    per_day: int = field(init=False)

    def __post_init__(self) -> None:
        self.per_day = self.opening.minutes // self.slot_minutes

    @classmethod
    def for_week(
        cls, monday: dt.date, opening: TimeRange, slot_minutes: int, calendar: WorkingCalendar
    ) -> WeekGrid:
        days: list[Day] = []
        closed: dict[dt.date, str] = {}
        for offset in range(5):
            day = monday + dt.timedelta(days=offset)
            reason = calendar.closed_reason(day)
            if reason is None:
                days.append(Day(len(days), day))
            else:
                closed[day] = reason
        return cls(monday, opening, slot_minutes, days, closed)

    @property
    def size(self) -> int:
        return len(self.days) * self.per_day

    def start_of(self, slot: int) -> dt.datetime:
        day = self.days[slot // self.per_day].date
        first = dt.datetime.combine(day, self.opening.start, tzinfo=TZ)
        return first + dt.timedelta(minutes=(slot % self.per_day) * self.slot_minutes)

    def slots_of(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> range:
        """The slots of ``day`` that overlap [start, end) (local times)."""
        found = [d for d in self.days if d.date == day]
        if not found:
            return range(0)
        base = found[0].index * self.per_day
        day_start = dt.datetime.combine(day, self.opening.start, tzinfo=TZ)
        first = int((start - day_start).total_seconds() // 60) // self.slot_minutes
        last_minute = (end - day_start).total_seconds() / 60
        last = -(-int(last_minute) // self.slot_minutes)  # ceil
        first, last = max(first, 0), min(last, self.per_day)
        return range(base + first, base + last) if last > first else range(0)

    def starts(self, length: int, free: list[bool]) -> list[int]:
        """Slots where a block of ``length`` slots fits on one day, all of it free."""
        out = []
        for d in self.days:
            base = d.index * self.per_day
            for s in range(self.per_day - length + 1):
                if all(free[base + s + k] for k in range(length)):
                    out.append(base + s)
        return out


@dataclass
class Availability:
    """For one person in one week: why each slot is taken (None = free)."""

    taken: list[str | None]
    counted_minutes: int  # fixed commitments this week that count toward her hours
    counted: list[tuple[str, dt.datetime, dt.datetime]]  # (label, start, end) of those

    free: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        self.free = [t is None for t in self.taken]


def availability(person: Person, grid: WeekGrid) -> Availability:
    taken: list[str | None] = [None] * grid.size
    counted_minutes = 0
    counted: list[tuple[str, dt.datetime, dt.datetime]] = []
    for d in grid.days:
        base = d.index * grid.per_day
        hours = grid.opening if person.hours is None else person.hours.get(d.date.weekday())
        for s in range(grid.per_day):
            start = grid.start_of(base + s)
            end = start + dt.timedelta(minutes=grid.slot_minutes)
            if hours is None or start.time() < hours.start or end.time() > hours.end:
                taken[base + s] = OUTSIDE_HOURS
        for c in person.commitments:
            if not c.occurs_on(d.date):
                continue
            start = dt.datetime.combine(d.date, c.time.start, tzinfo=TZ)
            end = dt.datetime.combine(d.date, c.time.end, tzinfo=TZ)
            for g in grid.slots_of(d.date, start, end):
                taken[g] = c.label
            if c.counts_toward_hours:
                counted_minutes += c.time.minutes
                counted.append((c.label, start, end))
    for b in person.busy:
        start, end = b.start.astimezone(TZ), b.end.astimezone(TZ)
        day = start.date()
        while day <= end.date():
            for g in grid.slots_of(day, start, end):
                taken[g] = taken[g] or b.label
            day += dt.timedelta(days=1)
    return Availability(taken, counted_minutes, counted)
