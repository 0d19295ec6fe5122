"""A definition compiled once for the planner: per step, everything a planned instance
copies from it, resolved up front, and a cheap way to make the instance.

Planning 10,000 enrollments makes some 600,000 :class:`PlannedStep`\\ s, most of them
weekly sessions that differ only in key, date and number. Building each through the
frozen dataclass's ``__init__`` (25 fields, one ``object.__setattr__`` each) was a fifth
of the planner's time; here an instance is made from a prepared dict of its step's
constant fields, which gives the same object (same fields, same order, equal, same hash)
at a fraction of the cost. Compiled once per definition object (definitions are frozen),
dropped when the object is garbage collected, like its content hash.
"""

from __future__ import annotations

import datetime as dt
import itertools
import weakref
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition.model import Definition, Offset

from .plan import PlannedStep
from .step_facts import StepFacts, clock_time, step_facts, step_order

ANCHOR_DA = {"visitation": "visitation", "start": "start", "midway": "midtvejs", "end": "slut"}
UNIT_DA = {
    "days": ("dag", "dage"),
    "weeks": ("uge", "uger"),
    "working_days": ("arbejdsdag", "arbejdsdage"),
}

# Every field of a PlannedStep with its default (None for the required ones).
_DEFAULTS: dict[str, Any] = {
    f.name: None if f.default is MISSING else f.default for f in fields(PlannedStep)
}
_new = object.__new__
_SERIALS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """One step of a definition, as the planner uses it for every instance."""

    step: Any  # the definition's step
    facts: StepFacts
    anchor: str  # a person's reading of how its date is found ("start −2 arbejdsdage")
    offsets: tuple[tuple[str, int], ...]  # (unit, amount) of when, or of repeat start, until
    refs: tuple[str, ...]  # steps it waits for: depends_on, completion anchor, only_after
    proto: dict[str, Any]  # the PlannedStep fields that come from the step alone
    time: dt.time | None  # its clock time (``when.time`` or ``repeat.time``)
    deadlines: bool  # a task with reminders or an escalation (not a session)


def make_step(proto: dict[str, Any], fields: dict[str, Any]) -> PlannedStep:
    """The PlannedStep with the fields of ``proto`` (a template's, all of them), then
    ``fields``: what ``PlannedStep(**proto | fields)`` gives, without its ``__init__``."""
    step = _new(PlannedStep)
    values = step.__dict__
    values.update(proto)
    values.update(fields)
    return step


@dataclass(frozen=True, slots=True)
class DefinitionTemplate:
    order: list[str]  # dependency order (do not mutate)
    rank: dict[str, int]  # step id → position in ``order``
    roots: tuple[str, ...]  # the steps on no branch, in ``order``
    steps: dict[str, StepTemplate]
    assumptions: tuple[str, ...]  # the definition's own and its outcomes'
    effects: dict[tuple[str, str], str]  # (step id, outcome) → what choosing it does
    #: never the same for two templates, unlike ``id()``: names this one in a calendar's
    #: memo, which may outlive it
    serial: int = field(default_factory=lambda: next(_SERIALS))


_TEMPLATES: dict[int, DefinitionTemplate] = {}
_MEMOS: dict[int, dict[Any, Any]] = {}


def template(d: Definition) -> DefinitionTemplate:
    """``d`` compiled for the planner, once per definition object."""
    key = id(d)
    found = _TEMPLATES.get(key)
    if found is None:
        found = _TEMPLATES[key] = _compile(d)
        weakref.finalize(d, _TEMPLATES.pop, key, None)
    return found


def calendar_memo(cal: WorkingCalendar) -> dict[Any, Any]:
    """A dict for answers that depend on ``cal`` and the question only, kept as long as
    the calendar object (a calendar is not changed once made)."""
    key = id(cal)
    found = _MEMOS.get(key)
    if found is None:
        found = _MEMOS[key] = {}
        weakref.finalize(cal, _MEMOS.pop, key, None)
    return found


def clear_calendar_memos() -> None:
    """Forget every calendar's remembered answers (benchmarks start each round cold)."""
    for memo in _MEMOS.values():
        memo.clear()


def _compile(d: Definition) -> DefinitionTemplate:
    order = step_order(d)
    steps = {}
    for step in d.steps:
        f = step_facts(d, step)
        refs = list(step.depends_on)
        if step.when is not None and step.when.anchor.startswith("completion."):
            refs.append(step.when.anchor.split(".", 1)[1])
        if step.only_after is not None:
            refs.append(step.only_after.step)
        rep = step.repeat
        if rep is not None:
            anchor = "hver uge" if rep.every_weeks == 1 else f"hver {rep.every_weeks}. uge"
            bounds = [rep.start.offset] + ([rep.until.offset] if rep.until is not None else [])
        else:
            assert step.when is not None
            anchor = describe_offset(step.when.anchor, step.when.offset)
            bounds = [step.when.offset]
        offsets = tuple((o.unit, o.amount) for o in bounds)
        text = step.repeat.time if step.repeat is not None else step.when.time  # type: ignore[union-attr]
        proto = dict(_DEFAULTS)
        proto.update(
            step_id=f.step_id,
            kind=f.kind,
            name=f.name,
            assignee=f.assignee,
            duration_minutes=f.duration_minutes,
            place=f.place,
            attendees=f.attendees,
            citizen_attends=f.citizen_attends,
            outcomes=f.outcomes,
            requires_consent=f.requires_consent,
            template=f.template,
            assumption=f.assumption,
            follow_up=f.follow_up,
        )
        time = clock_time(text) if text else None
        deadlines = f.kind != "session" and bool(f.reminders_before or f.escalation)
        steps[step.id] = StepTemplate(step, f, anchor, offsets, tuple(refs), proto, time, deadlines)
    assumptions = (
        *d.assumptions,
        *(
            f"{s.id}={o.id}: {o.assumption}"
            for s in d.steps
            for o in s.outcomes_list
            if o.assumption
        ),
    )
    return DefinitionTemplate(
        order=order,
        rank={sid: n for n, sid in enumerate(order)},
        roots=tuple(sid for sid in order if steps[sid].step.only_after is None),
        steps=steps,
        assumptions=assumptions,
        effects={},
    )


def describe_offset(anchor: str, offset: Offset) -> str:
    if anchor.startswith("step."):
        base = anchor[5:]
    elif anchor.startswith("completion."):
        base = f"{anchor[11:]} afsluttet"
    else:
        base = ANCHOR_DA.get(anchor, anchor)
    n = offset.amount
    if n == 0:
        return base
    one, many = UNIT_DA[offset.unit]
    sign = "+" if n > 0 else "−"
    return f"{base} {sign}{abs(n)} {one if abs(n) == 1 else many}"
