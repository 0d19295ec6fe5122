"""What the planner produces: a dated, ordered plan for one enrollment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Period:
    """The main course (number 1) or an extension of it (2, 3, ...)."""

    number: int
    start: dt.date
    midway: dt.date
    end: dt.date
    weeks: int
    reason: str | None = None  # e.g. "evaluering: forlaengelse"


@dataclass(frozen=True)
class OpenBranch:
    """An outcome not chosen yet, and what choosing it would do."""

    step_key: str
    outcome: str
    name: str
    effect: str


@dataclass(frozen=True)
class ChosenOutcome:
    """An outcome decided for one step instance (``evaluering``, ``evaluering@2``)."""

    step_key: str
    outcome: str
    decided_on: dt.date | None = None


@dataclass(frozen=True)
class Skipped:
    """A recurring occurrence that falls on a closed day and is not held. ``step_key`` is the
    recurring step's key without an occurrence number: skipped days are not instances."""

    step_key: str
    date: dt.date
    reason: str
    name: str = ""  # the step's name, as a person reads it


@dataclass(frozen=True)
class PlannedStep:
    key: str  # unique in the plan: "opstartsmoede", "sprogskole#3", "evaluering@2"
    step_id: str
    kind: str
    name: str
    date: dt.date
    period: int
    assignee: str
    anchor: str  # a person's reading of how the date was found, e.g. "start −2 arbejdsdage"
    time: dt.time | None = None
    duration_minutes: int | None = None
    place: str | None = None
    attendees: tuple[str, ...] = ()
    citizen_attends: bool = False
    occurrence: int | None = None
    shifted_from: dt.date | None = None
    shift_reason: str | None = None
    depends_on: tuple[str, ...] = ()
    branch: tuple[str, str] | None = None  # (step id, outcome) that made this step exist
    outcomes: tuple[str, ...] = ()
    requires_consent: bool = False
    template: str | None = None
    reminders: tuple[dt.date, ...] = ()
    escalation: tuple[dt.date, str] | None = None
    assumption: str | None = None  # what the definition assumed here; to confirm
    follow_up: bool = False  # a follow-up after the course (efterfølgende)
    #: a per_group step's occurrence, the same for every member of the group:
    #: "<definition>/<municipality>/<cohort or rolling>/<step id>/<date>" (issue 12)
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = self._json()
        if self.group is not None:  # only group steps carry it (issue 12)
            out["group"] = self.group
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "step_id": self.step_id,
            "kind": self.kind,
            "name": self.name,
            "date": self.date.isoformat(),
            "time": self.time.strftime("%H:%M") if self.time else None,
            "duration_minutes": self.duration_minutes,
            "place": self.place,
            "period": self.period,
            "assignee": self.assignee,
            "attendees": list(self.attendees),
            "citizen_attends": self.citizen_attends,
            "occurrence": self.occurrence,
            "anchor": self.anchor,
            "shifted_from": self.shifted_from.isoformat() if self.shifted_from else None,
            "shift_reason": self.shift_reason,
            "depends_on": list(self.depends_on),
            "branch": {"step": self.branch[0], "outcome": self.branch[1]} if self.branch else None,
            "outcomes": list(self.outcomes),
            "requires_consent": self.requires_consent,
            "template": self.template,
            "assumption": self.assumption,
            "follow_up": self.follow_up,
            "reminders": [d.isoformat() for d in self.reminders],
            "escalation": (
                {"date": self.escalation[0].isoformat(), "to": self.escalation[1]}
                if self.escalation
                else None
            ),
        }


@dataclass(frozen=True)
class Plan:
    definition_id: str
    definition_version: int
    content_hash: str
    municipality: str
    visitation: dt.date
    start: dt.date
    end: dt.date
    periods: tuple[Period, ...]
    steps: tuple[PlannedStep, ...]
    open_branches: tuple[OpenBranch, ...] = ()
    chosen: tuple[ChosenOutcome, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    ended_by: ChosenOutcome | None = None
    cohort: str | None = None
    empty_repeats: tuple[str, ...] = ()  # recurring steps whose bounds left no occurrence
    own_days: tuple[str, ...] = ()  # own-days steps without her days yet (issue 12)
    assumptions: tuple[str, ...] = ()  # the definition's own and its outcomes' (to confirm)
    _index: Mapping[str, PlannedStep] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.key: s for s in self.steps})

    def __repr__(self) -> str:  # plans are long; a summary is what a person needs in a log
        chosen = ", ".join(f"{c.step_key}={c.outcome}" for c in self.chosen)
        return (
            f"Plan({self.definition_id} v{self.definition_version}, start={self.start}, "
            f"end={self.end}, {len(self.steps)} steps, chosen=[{chosen}])"
        )

    def get(self, key: str) -> PlannedStep:
        return self._index[key]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    @property
    def midway(self) -> dt.date:
        return self.periods[0].midway

    def to_json(self) -> dict[str, Any]:
        return {
            "definition": {
                "id": self.definition_id,
                "version": self.definition_version,
                "content_hash": self.content_hash,
                "municipality": self.municipality,
            },
            "cohort": self.cohort,
            "visitation": self.visitation.isoformat(),
            "start": self.start.isoformat(),
            "midway": self.midway.isoformat(),
            "end": self.end.isoformat(),
            "periods": [
                {
                    "number": p.number,
                    "start": p.start.isoformat(),
                    "midway": p.midway.isoformat(),
                    "end": p.end.isoformat(),
                    "weeks": p.weeks,
                    "reason": p.reason,
                }
                for p in self.periods
            ],
            "chosen": [
                {
                    "step": c.step_key,
                    "outcome": c.outcome,
                    "decided_on": c.decided_on.isoformat() if c.decided_on else None,
                }
                for c in self.chosen
            ],
            "ended_by": (
                {"step": self.ended_by.step_key, "outcome": self.ended_by.outcome}
                if self.ended_by
                else None
            ),
            "open_branches": [
                {"step": b.step_key, "outcome": b.outcome, "name": b.name, "effect": b.effect}
                for b in self.open_branches
            ],
            "skipped": [
                {
                    "step": s.step_key,
                    "name": s.name,
                    "date": s.date.isoformat(),
                    "reason": s.reason,
                }
                for s in self.skipped
            ],
            "empty_repeats": list(self.empty_repeats),
            **({"own_days": list(self.own_days)} if self.own_days else {}),
            "assumptions": list(self.assumptions),
            "steps": [s.to_json() for s in self.steps],
        }
