"""A week problem written as YAML, for trying the solver without a database
(``iba schedule solve FILE``) and for the examples in docs/schedule.md::

    week: 2027-03-01          # the Monday of the first week
    weeks: 1
    municipality: hedensted   # whose holidays and closing days
    shape: {opening: "08:00-16:00", target_hours: 25, activities: [...], sessions: [...],
            talks: [...]}     # as in schedules/<definition>.yaml (without 'definition')
    staff:
      - {ref: IBA, role: iba, hours: {man-fre: "08:00-16:00"}, commitments: [...]}
    participants:
      - ref: DEL-01
        commitments:
          - {label: sprogskole, weekday: tirsdag, time: "08:30-14:30", counts: true}
          - {label: lægetid, on: 2027-03-03, time: "10:00-11:00"}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .model import (
    Commitment,
    GroupSession,
    Participant,
    Person,
    ScheduleError,
    ScheduleProblem,
    Solution,
    Talk,
    TimeRange,
)
from .reasons import hours_text, week_label
from .records import parse_days, parse_weekday
from .shapes import WeekShape

GROUP = "gruppe"


class CommitmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    time: str
    weekday: str | None = None
    on: dt.date | None = None
    valid_from: dt.date | None = Field(None, alias="from")
    valid_to: dt.date | None = Field(None, alias="to")
    counts: bool = False

    def to_commitment(self) -> Commitment:
        return Commitment(
            self.label,
            TimeRange.parse(self.time),
            weekday=parse_weekday(self.weekday) if self.weekday else None,
            on=self.on,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            counts_toward_hours=self.counts,
        )


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str
    role: str | None = None
    hours: dict[str, str] | None = None
    commitments: list[CommitmentIn] = Field(default_factory=list)
    enrolled: tuple[dt.date, dt.date | None] | None = None


class ProblemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: dt.date
    weeks: int = Field(1, ge=1, le=26)
    municipality: str = "hedensted"
    shape: dict[str, Any]
    staff: list[PersonIn] = Field(default_factory=list)
    participants: list[PersonIn]


def _person(p: PersonIn) -> Person:
    hours = None
    if p.hours is not None:
        hours = {d: TimeRange.parse(t) for days, t in p.hours.items() for d in parse_days(days)}
    return Person(
        p.ref, tuple(c.to_commitment() for c in p.commitments), hours=hours, enrolled=p.enrolled
    )


def problem_from_data(data: Any) -> tuple[ScheduleProblem, str]:
    """The problem and the municipality whose calendar it is solved on."""
    try:
        doc = ProblemIn.model_validate(data)
        shape = WeekShape.model_validate({"definition": "eksempel", **doc.shape})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScheduleError(f"{where}: {first['msg']}", hint="see docs/schedule.md") from None
    by_role = {s.role: s.ref for s in doc.staff if s.role}
    activities = tuple(a.to_activity() for a in shape.activities)
    participants = tuple(
        Participant(_person(p), shape.target_minutes, activities, (GROUP,))
        for p in doc.participants
    )
    missing = {r for s in shape.sessions for r in s.staff_roles} | {
        t.staff_role for t in shape.talks
    }
    missing -= set(by_role)
    if missing:
        raise ScheduleError(
            f"no staff member with role {sorted(missing)[0]!r}",
            hint="add one under staff: with that role",
        )
    sessions = tuple(
        GroupSession(
            s.id, s.name, GROUP, s.minutes, tuple(by_role[r] for r in s.staff_roles), s.per_week
        )
        for s in shape.sessions
    )
    talks = tuple(
        Talk(t.id, t.name, p.person.ref, by_role[t.staff_role], t.minutes, t.per_week)
        for t in shape.talks
        for p in participants
    )
    problem = ScheduleProblem(
        first_monday=doc.week,
        weeks=doc.weeks,
        opening=shape.opening_hours,
        participants=participants,
        staff=tuple(_person(s) for s in doc.staff),
        sessions=sessions,
        talks=talks,
        slot_minutes=shape.slot_minutes,
    )
    return problem, doc.municipality


def describe_solution(solution: Solution) -> list[str]:
    """One line per placed item (fixed commitments left out), then hours and reasons."""
    from .grid import TZ
    from .model import WEEKDAY_NAMES

    lines = []
    for p in sorted(solution.placements, key=lambda p: (p.start, p.key)):
        if p.kind == "commitment":
            continue
        s, e = p.start.astimezone(TZ), p.end.astimezone(TZ)
        who = ", ".join(p.people) if len(p.people) <= 3 else f"{len(p.people)} personer"
        lines.append(f"{WEEKDAY_NAMES[s.weekday()]} {s:%H:%M}–{e:%H:%M} {p.name} ({who})")
    for h in solution.hours:
        plain = f"{h.ref}: {hours_text(h.placed_minutes)} af {hours_text(h.target_minutes)}"
        lines.append(h.reason or f"{plain} i {week_label(h.week)}")
    lines.extend(f"ikke placeret: {u.reason}" for u in solution.unplaced)
    return lines
