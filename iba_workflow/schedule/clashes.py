"""Clashes: any person booked twice at the same time, wherever her time is known — fixed
commitments, staff calendars, placed schedules, booked meetings and a plan's timed steps.
Each clash names both items and proposes a move. Pure."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from iba_workflow.calendar import WorkingCalendar

from .grid import TZ
from .model import WEEKDAY_NAMES, Placement, TimeRange

PARTICIPANT = "deltager"  # the citizen of a plan, by role: never her name


@dataclass(frozen=True)
class Booking:
    """Something that takes a person's time. ``fixed``: cannot be moved by us (language
    school, a calendar entry); the proposal then moves the other item."""

    person: str
    label: str
    start: dt.datetime
    end: dt.datetime
    source: str  # "fast aftale", "kalender", "skema", "plan", "møde"
    fixed: bool = False


@dataclass(frozen=True)
class Clash:
    person: str
    first: Booking
    second: Booking
    proposal: str

    def describe(self) -> str:
        day = self.first.start.astimezone(TZ)
        return (
            f"{self.person} er booket to gange {WEEKDAY_NAMES[day.weekday()]} "
            f"{day:%d.%m.%Y}: {_item(self.first)} og {_item(self.second)}; {self.proposal}"
        )


def _item(b: Booking) -> str:
    s, e = b.start.astimezone(TZ), b.end.astimezone(TZ)
    return f"{b.label} {s:%H:%M}–{e:%H:%M} ({b.source})"


def find_clashes(
    bookings: Iterable[Booking],
    *,
    calendar: WorkingCalendar | None = None,
    opening: TimeRange | None = None,
) -> list[Clash]:
    """Every pair of overlapping bookings of one person, in time order. With a calendar
    and opening hours the proposal names the first free time for the movable item."""
    by_person: dict[str, list[Booking]] = defaultdict(list)
    for b in bookings:
        by_person[b.person].append(b)
    out: list[Clash] = []
    for person in sorted(by_person):
        items = sorted(by_person[person], key=lambda b: (b.start, b.end, b.label))
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if b.start >= a.end:
                    break
                out.append(Clash(person, a, b, _proposal(a, b, items, calendar, opening)))
    return sorted(out, key=lambda c: (c.first.start, c.person))


def _proposal(
    a: Booking,
    b: Booking,
    mine: Sequence[Booking],
    calendar: WorkingCalendar | None,
    opening: TimeRange | None,
) -> str:
    if a.fixed and b.fixed:
        return "begge er faste: aftal med deltageren, hvilken der gælder"
    move = b if not b.fixed else a
    keep = a if move is b else b
    if calendar is None or opening is None:
        return f"forslag: flyt {move.label} uden for {keep.label}"
    length = move.end - move.start
    day = move.start.astimezone(TZ).date()
    for _ in range(30):
        if calendar.is_working_day(day):
            t = dt.datetime.combine(day, opening.start, tzinfo=TZ)
            close = dt.datetime.combine(day, opening.end, tzinfo=TZ)
            while t + length <= close:
                if not any(o is not move and o.start < t + length and t < o.end for o in mine):
                    return (
                        f"forslag: flyt {move.label} til {WEEKDAY_NAMES[day.weekday()]} "
                        f"{day:%d.%m.%Y} kl. {t:%H:%M}"
                    )
                t += dt.timedelta(minutes=30)
        day += dt.timedelta(days=1)
    return f"forslag: flyt {move.label}; ingen ledig tid de næste 30 dage"


def bookings_from_placements(placements: Iterable[Placement]) -> list[Booking]:
    out: list[Booking] = []
    for p in placements:
        fixed = p.kind == "commitment"
        source = "fast aftale" if fixed else "skema"
        out.extend(Booking(ref, p.name, p.start, p.end, source, fixed) for ref in p.people)
    return out


def bookings_from_plan(steps: Iterable[object], *, default_minutes: int = 60) -> list[Booking]:
    """A plan's timed steps as bookings of roles (``iba``, ``leder``) and of the
    participant (``deltager``) where she attends (sessions, meetings with her)."""
    out: list[Booking] = []
    for s in steps:
        time = getattr(s, "time", None)
        if time is None:
            continue
        day: dt.date = s.date  # type: ignore[attr-defined]
        start = dt.datetime.combine(day, time, tzinfo=TZ)
        end = start + dt.timedelta(minutes=getattr(s, "duration_minutes", None) or default_minutes)
        people = {s.assignee, *s.attendees}  # type: ignore[attr-defined]
        if s.citizen_attends or s.kind == "session":  # type: ignore[attr-defined]
            people.add(PARTICIPANT)
        label = f"{s.name} ({s.key})"  # type: ignore[attr-defined]
        out.extend(Booking(p, label, start, end, "plan") for p in sorted(people))
    return out


PLAN_OPENING = TimeRange(dt.time(8, 0), dt.time(16, 0))


def plan_clashes(plan: object, calendar: WorkingCalendar) -> list[Clash]:
    """Clashes inside one plan: a role or the participant booked twice by its timed steps."""
    steps = getattr(plan, "steps", ())
    return find_clashes(bookings_from_plan(steps), calendar=calendar, opening=PLAN_OPENING)
