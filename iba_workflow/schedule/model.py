"""Plain data for week schedules: people, their fixed commitments and working hours, what
must be placed, and what the solver returns. No SQLModel, no network, no wall clock.

People are named by opaque references (``DEL-03``, ``staff:7``) only: a reason or a diff
may be printed, mailed or logged, so it never carries a citizen's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from iba_workflow.errors import IbaError

WEEKDAY_NAMES = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


class ScheduleError(IbaError):
    """Schedule input that cannot be used (a commitment ending before it starts, ...)."""


@dataclass(frozen=True)
class TimeRange:
    """A time of day from ``start`` to ``end`` (same day, end after start)."""

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ScheduleError(
                f"{self.start:%H:%M}–{self.end:%H:%M} ends before it starts",
                hint="give the end time after the start time, e.g. 08:30-12:00",
            )

    @property
    def minutes(self) -> int:
        return _minute(self.end) - _minute(self.start)

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """``"08:30-12:00"`` (a hyphen or an en dash)."""
        parts = text.replace("–", "-").split("-")
        try:
            start, end = (dt.time.fromisoformat(p.strip()) for p in parts)
        except ValueError:
            raise ScheduleError(
                f"not a time range: {text!r}", hint="write it as HH:MM-HH:MM, e.g. 08:30-12:00"
            ) from None
        return cls(start, end)


def _minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Commitment:
    """A fixed commitment: weekly on ``weekday`` (0 = Monday) between ``valid_from`` and
    ``valid_to`` (both inclusive, open when None), or once on ``on``.

    ``counts_toward_hours``: the time counts in the participant's weekly hours (language
    school in HOP's 25 hours); childcare or a doctor's appointment does not.
    """

    label: str
    time: TimeRange
    weekday: int | None = None
    on: dt.date | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    counts_toward_hours: bool = False

    def __post_init__(self) -> None:
        if (self.weekday is None) == (self.on is None):
            raise ScheduleError(
                f"commitment {self.label!r} needs a weekday or a date (one of them)",
                hint="weekly: --weekday tirsdag; once: --on 2027-03-02",
            )
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ScheduleError(f"weekday {self.weekday} is not 0 (Monday) to 6 (Sunday)")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ScheduleError(
                f"commitment {self.label!r} ends ({self.valid_to}) before it starts "
                f"({self.valid_from})",
                hint="swap --from and --to",
            )

    def occurs_on(self, day: dt.date) -> bool:
        if self.on is not None:
            return day == self.on
        if day.weekday() != self.weekday:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)

    def describe(self) -> str:
        when = WEEKDAY_NAMES[self.weekday] if self.weekday is not None else f"{self.on}"
        return f"{self.label} {when} {self.time.label()}"


@dataclass(frozen=True)
class Busy:
    """A busy period from a calendar (CalDAV, a published iCalendar URL, a booked meeting).
    Instants are timezone-aware."""

    start: dt.datetime
    end: dt.datetime
    label: str = "optaget i kalender"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ScheduleError("busy times need a timezone")


@dataclass(frozen=True)
class Person:
    """A participant or a staff member as the solver sees one.

    ``hours``: working hours (staff) or the hours she can be scheduled (participants) per
    weekday 0–4; a weekday missing from it is a day off. ``None`` means the opening hours.
    ``enrolled``: for participants, the first and last day she is enrolled (rolling intake).
    """

    ref: str
    commitments: tuple[Commitment, ...] = ()
    busy: tuple[Busy, ...] = ()
    hours: dict[int, TimeRange] | None = None
    enrolled: tuple[dt.date, dt.date | None] | None = None

    def enrolled_in(self, first: dt.date, last: dt.date) -> bool:
        if self.enrolled is None:
            return True
        start, end = self.enrolled
        return start <= last and (end is None or end >= first)


@dataclass(frozen=True)
class Activity:
    """Something a participant does every week, in blocks of ``block_minutes``, at most one
    block a day. ``minutes`` per week; ``fill=True`` makes it fill her week up to her
    weekly target (minutes then ignored)."""

    id: str
    name: str
    block_minutes: int
    minutes: int = 0
    fill: bool = False


@dataclass(frozen=True)
class Participant:
    person: Person
    target_minutes: int
    activities: tuple[Activity, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupSession:
    """Held once a week (``per_week`` times) for every member of ``group`` enrolled that
    week, with the staff in ``staff`` present. Counts in the members' weekly hours."""

    id: str
    name: str
    group: str
    minutes: int
    staff: tuple[str, ...] = ()
    per_week: int = 1
    #: held only every N weeks, counted from a fixed Monday as the plan's group steps are
    #: (a definition's ``held: per_group`` step with ``repeat.every_weeks``)
    every_weeks: int = 1

    def held_in(self, monday: dt.date) -> bool:
        from iba_workflow.planning.recurrence import EPOCH_MONDAY

        return ((monday - EPOCH_MONDAY).days // 7) % self.every_weeks == 0


@dataclass(frozen=True)
class Talk:
    """An individual talk: one participant and one staff member, ``per_week`` times a
    week (a weekly evaluation)."""

    id: str
    name: str
    participant: str
    staff: str
    minutes: int
    per_week: int = 1
    counts_toward_hours: bool = True


@dataclass(frozen=True)
class ScheduleProblem:
    """Everything the solver needs for the weeks starting on ``first_monday``.

    ``time_limit_seconds`` bounds each week's search in CP-SAT's *deterministic* time
    (about seconds on an idle machine), so a loaded machine cannot change the answer."""

    first_monday: dt.date
    weeks: int
    opening: TimeRange
    participants: tuple[Participant, ...]
    staff: tuple[Person, ...] = ()
    sessions: tuple[GroupSession, ...] = ()
    talks: tuple[Talk, ...] = ()
    slot_minutes: int = 30
    time_limit_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.first_monday.weekday() != 0:
            raise ScheduleError(
                f"{self.first_monday} is a {WEEKDAY_NAMES[self.first_monday.weekday()]}, "
                "not a Monday",
                hint="give the Monday of the first week",
            )
        if self.opening.minutes % self.slot_minutes:
            raise ScheduleError(
                f"opening hours {self.opening.label()} are not whole {self.slot_minutes}-minute "
                "slots"
            )
        refs = [p.person.ref for p in self.participants] + [s.ref for s in self.staff]
        if len(set(refs)) != len(refs):
            raise ScheduleError("a reference is used for two people", hint="refs are unique")


@dataclass(frozen=True)
class Placement:
    """One placed item. ``key`` is stable across re-solves: ``DEL-03/undervisning`` ..."""

    key: str
    item: str  # activity / session / talk id
    name: str
    people: tuple[str, ...]
    start: dt.datetime  # local (Europe/Copenhagen), naive-free: tz-aware
    end: dt.datetime
    kind: str  # "activity", "session", "talk", "commitment"
    week: dt.date  # the Monday

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class Unplaced:
    """Something that could not be placed, with the reason a coordinator reads."""

    key: str
    item: str
    name: str
    people: tuple[str, ...]
    week: dt.date
    minutes: int
    reason: str
    kind: str = "activity"  # activity / session / talk

    @property
    def kind_is_session(self) -> bool:
        return self.kind == "session"


@dataclass(frozen=True)
class WeekHours:
    """A participant's hours in one week: placed (incl. fixed commitments that count) vs
    her target, and why not, when short."""

    ref: str
    week: dt.date
    target_minutes: int
    placed_minutes: int
    reason: str | None = None


@dataclass
class Solution:
    placements: list[Placement] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    hours: list[WeekHours] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # week → OPTIMAL / FEASIBLE

    def for_person(self, ref: str) -> list[Placement]:
        return sorted((p for p in self.placements if ref in p.people), key=lambda p: p.start)
