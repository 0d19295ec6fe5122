"""What the planner copies from a definition step into every planned instance of it,
read once per (definition, step) instead of once per planned step.

A recurring session of 26 weeks is planned 26 times per enrollment, and each read of a
field a step kind does not have (``place`` on a session) is a miss in pydantic's
``__getattr__``: the facts are read from the model's ``__dict__`` once and kept, per
definition object, until that object is garbage collected.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iba_workflow.definition.checks import dependency_order
from iba_workflow.definition.model import Definition, Escalation


@dataclass(frozen=True, slots=True)
class StepFacts:
    step_id: str
    kind: str
    name: str
    assignee: str
    duration_minutes: int | None
    place: str | None
    attendees: tuple[str, ...]
    citizen_attends: bool
    outcomes: tuple[str, ...]
    requires_consent: bool
    template: str | None
    assumption: str | None
    follow_up: bool
    reminders_before: tuple[tuple[str, int], ...]  # (unit, -amount): before the date
    escalation: tuple[str, int, str] | None  # (unit, amount, to role)
    per_group: bool = False  # held once for the group (issue 12)


_FACTS: dict[int, dict[str, StepFacts]] = {}
_ORDERS: dict[int, list[str]] = {}


def step_order(d: Definition) -> list[str]:
    """``dependency_order(d)``, computed once per definition object (do not mutate)."""
    key = id(d)
    found = _ORDERS.get(key)
    if found is None:
        found = _ORDERS[key] = dependency_order(d)
        weakref.finalize(d, _ORDERS.pop, key, None)
    return found


def step_facts(d: Definition, step: Any) -> StepFacts:
    """The facts of ``step`` (a step of ``d``), cached per definition object."""
    key = id(d)
    by_step = _FACTS.get(key)
    if by_step is None:
        by_step = _FACTS[key] = {}
        weakref.finalize(d, _FACTS.pop, key, None)
    found = by_step.get(step.id)
    if found is None:
        found = by_step[step.id] = _read(d, step)
    return found


def _read(d: Definition, step: Any) -> StepFacts:
    fields = vars(step)  # only the fields this kind of step has
    kind = step.kind
    reminders: tuple[tuple[str, int], ...] = ()
    escalation = None
    if kind != "session":
        offs = step.reminders if step.reminders is not None else d.defaults.reminders
        reminders = tuple((o.unit, -o.amount) for o in offs)
        own = step.escalation
        esc = d.defaults.escalation if own is None else own or None
        if isinstance(esc, Escalation):
            escalation = (esc.after.unit, esc.after.amount, esc.to)
    return StepFacts(
        step_id=step.id,
        kind=kind,
        name=step.name,
        assignee=step.assignee,
        duration_minutes=fields.get("duration_minutes"),
        place=fields.get("place"),
        attendees=tuple(fields.get("attendees") or ()),
        citizen_attends=bool(fields.get("citizen_attends", False)),
        outcomes=tuple(o.id for o in fields.get("outcomes") or ()),
        requires_consent=bool(step.requires_consent),
        template=step.template,
        assumption=step.assumption,
        follow_up=bool(step.follow_up),
        reminders_before=reminders,
        escalation=escalation,
        per_group=step.held == "per_group",
    )


@lru_cache(maxsize=256)
def clock_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)
