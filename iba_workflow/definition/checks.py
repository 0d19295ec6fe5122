"""Rules that need the whole definition: references, branches, cycles.

Every check appends to one list, so a person sees every problem in one run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from .model import AnyStep, Bound, Definition, Escalation, HoursRange, Offset, Repeat, When
from .week_checks import check_week_fields

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    path: PathT
    message: str
    hint: str | None = None
    at_key: bool = False


def _did_you_mean(name: str, options: Iterable[str], noun: str) -> str:
    opts = sorted(set(options))
    close = difflib.get_close_matches(name, opts, n=1, cutoff=0.6)
    listed = ", ".join(opts) if opts else "(none)"
    if close:
        return f"did you mean '{close[0]}'? {noun} defined: {listed}"
    return f"{noun} defined: {listed}"


def check_definition(d: Definition, *, known_templates: set[str] | None = None) -> list[Issue]:
    issues: list[Issue] = []
    add = issues.append

    _unique(d.roles, ("roles",), "role", add)
    _unique(d.steps, ("steps",), "step", add)
    _unique(d.eligibility, ("eligibility",), "criterion", add)
    role_ids = {r.id for r in d.roles}
    steps: dict[str, AnyStep] = {}
    for s in d.steps:
        steps.setdefault(s.id, s)  # with duplicate ids, the first one is the one we check
    recurring = {s.id for s in d.steps if s.repeat is not None}

    def role_ref(role: str, path: PathT) -> None:
        if role not in role_ids:
            add(Issue(path, f"unknown role '{role}'", _did_you_mean(role, role_ids, "roles")))

    def step_ref(ref: str, path: PathT, *, what: str, self_id: str) -> bool:
        if ref == self_id:
            add(
                Issue(
                    path,
                    f"step '{self_id}' refers to itself in {what}",
                    "refer to another step or to start/midway/end",
                )
            )
            return False
        if ref not in steps:
            add(Issue(path, f"unknown step '{ref}' in {what}", _did_you_mean(ref, steps, "steps")))
            return False
        return True

    def conditions(step_id: str) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        seen: set[str] = set()
        current = steps.get(step_id)
        while current is not None and current.only_after is not None and current.id not in seen:
            seen.add(current.id)
            out.add((current.only_after.step, current.only_after.outcome))
            current = steps.get(current.only_after.step)
        return out

    def branch_ok(ref: str, path: PathT, self_id: str) -> None:
        target = steps[ref]
        if target.only_after is None:
            return
        cond = (target.only_after.step, target.only_after.outcome)
        if cond not in conditions(self_id):
            add(
                Issue(
                    path,
                    f"'{self_id}' refers to '{ref}', which exists only after outcome "
                    f"'{cond[1]}' of '{cond[0]}'",
                    f"give '{self_id}' 'only_after: {{step: {cond[0]}, outcome: {cond[1]}}}' "
                    "or refer to a step on the main line",
                )
            )

    def anchor_ref(when: When | Bound, path: PathT, self_id: str) -> None:
        if "." not in when.anchor:
            return
        _, ref = when.anchor.split(".", 1)
        if not step_ref(ref, (*path, "anchor"), what="anchor", self_id=self_id):
            return
        if ref in recurring:
            add(
                Issue(
                    (*path, "anchor"),
                    f"anchor '{when.anchor}' points at a recurring step",
                    "anchor to a single step, or to start/midway/end",
                )
            )
        branch_ok(ref, (*path, "anchor"), self_id)

    _check_before(d.defaults.reminders, ("defaults", "reminders"), "reminders", add)
    if d.defaults.escalation is not None:
        role_ref(d.defaults.escalation.to, ("defaults", "escalation", "to"))
        _check_after(d.defaults.escalation.after, ("defaults", "escalation", "after"), add)

    if isinstance(d.hours_per_week, HoursRange) and d.hours_per_week.min > d.hours_per_week.max:
        add(Issue(("hours_per_week",), "hours_per_week min is above max"))
    if d.min_participants is not None and d.min_participants > d.capacity:
        add(Issue(("min_participants",), "min_participants is above capacity"))

    for i, s in enumerate(d.steps):
        base: PathT = ("steps", i)
        role_ref(s.assignee, (*base, "assignee"))
        for j, a in enumerate(s.attendee_roles):
            role_ref(a, (*base, "attendees", j))
        if isinstance(s.escalation, Escalation):
            role_ref(s.escalation.to, (*base, "escalation", "to"))
            _check_after(s.escalation.after, (*base, "escalation", "after"), add)
        if s.reminders is not None:
            _check_before(s.reminders, (*base, "reminders"), "reminders", add)

        if s.when is None and s.repeat is None:
            add(
                Issue(
                    base,
                    f"step '{s.id}' has no date",
                    "give it 'when:' (a single date) or 'repeat:' (a recurring one)",
                )
            )
        if s.when is not None and s.repeat is not None:
            add(
                Issue(
                    (*base, "repeat"),
                    f"step '{s.id}' has both 'when' and 'repeat'",
                    "a recurring step takes its dates from 'repeat' alone; remove 'when'",
                    at_key=True,
                )
            )
        if s.kind == "session" and s.repeat is None:
            add(
                Issue(
                    base,
                    f"session '{s.id}' needs 'repeat'",
                    "a session is teaching or training on given weekdays: add "
                    "'repeat: {weekdays: [tue], until: {anchor: end}}'",
                )
            )
        if s.kind in ("meeting", "test"):
            has_time = (s.when is not None and s.when.time) or (
                s.repeat is not None and s.repeat.time
            )
            if not has_time:
                at = (*base, "when") if s.when is not None else base
                add(
                    Issue(
                        at,
                        f"{s.kind} '{s.id}' needs a start time",
                        "add 'time: \"10:00\"' under 'when'",
                    )
                )
        if s.kind == "evaluation" and s.attendee_roles and not (s.when and s.when.time):
            add(
                Issue(
                    (*base, "when") if s.when else base,
                    f"evaluation '{s.id}' has attendees, so it is a meeting and needs a start time",
                    "add 'time: \"10:00\"' under 'when'",
                )
            )
        if s.outcomes_list:
            _unique(s.outcomes_list, (*base, "outcomes"), "outcome", add)
            if s.repeat is not None:
                add(
                    Issue(
                        (*base, "outcomes"),
                        f"recurring step '{s.id}' cannot have outcomes",
                        "outcomes decide a branch once; use a single step",
                        at_key=True,
                    )
                )
        if s.kind == "measurement":
            _unique(s.dimensions, (*base, "dimensions"), "dimension", add)  # type: ignore[attr-defined]

        if s.when is not None:
            anchor_ref(s.when, (*base, "when"), s.id)
        check_week_fields(d, s, base, lambda p, m, h: add(Issue(p, m, h)))
        if s.repeat is not None:
            _check_repeat(s.repeat, (*base, "repeat"), add)
            anchor_ref(s.repeat.start, (*base, "repeat", "start"), s.id)
            if s.repeat.until is not None:
                anchor_ref(s.repeat.until, (*base, "repeat", "until"), s.id)
        for j, dep in enumerate(s.depends_on):
            path: PathT = (*base, "depends_on", j)
            if step_ref(dep, path, what="depends_on", self_id=s.id):
                if dep in recurring:
                    add(
                        Issue(
                            path,
                            f"'{s.id}' depends on recurring step '{dep}'",
                            "depend on a single step (e.g. the final evaluation)",
                        )
                    )
                branch_ok(dep, path, s.id)
        if s.only_after is not None:
            ref = s.only_after
            path = (*base, "only_after")
            if step_ref(ref.step, (*path, "step"), what="only_after", self_id=s.id):
                outcomes = {o.id for o in steps[ref.step].outcomes_list}
                if not outcomes:
                    add(
                        Issue(
                            (*path, "step"),
                            f"step '{ref.step}' has no outcomes to branch on",
                            "only evaluation and test steps have outcomes",
                        )
                    )
                elif ref.outcome not in outcomes:
                    add(
                        Issue(
                            (*path, "outcome"),
                            f"step '{ref.step}' has no outcome '{ref.outcome}'",
                            _did_you_mean(ref.outcome, outcomes, "outcomes"),
                        )
                    )
                elif any(o.ends for o in steps[ref.step].outcomes_list if o.id == ref.outcome):
                    add(
                        Issue(
                            (*path, "outcome"),
                            f"'{s.id}' is on the branch of outcome '{ref.outcome}', which ends "
                            "the course at once, so it would never be planned",
                            f"remove 'ends: true' from '{ref.outcome}' and close the branch with "
                            f"a later step's ending outcome (e.g. give '{s.id}' kind evaluation "
                            "and an outcome with 'ends: true')",
                        )
                    )
        for k, outcome in enumerate(s.outcomes_list):
            for j, rid in enumerate(outcome.stops):
                path = (*base, "outcomes", k, "stops", j)
                if step_ref(rid, path, what="stops", self_id="") and rid not in recurring:
                    add(
                        Issue(
                            path,
                            f"'stops' names '{rid}', which is not a recurring step",
                            "only recurring steps (repeat:) can be stopped",
                        )
                    )
            if outcome.extend is not None:
                for j, rid in enumerate(outcome.extend.replan):
                    step_ref(
                        rid,
                        (*base, "outcomes", k, "extend", "replan", j),
                        what="extend.replan",
                        self_id="",
                    )
                if d.duration.extendable_to_weeks is None:
                    add(
                        Issue(
                            (*base, "outcomes", k, "extend"),
                            f"outcome '{outcome.id}' extends the course, but the duration "
                            "sets no limit",
                            "add 'extendable_to_weeks:' under 'duration'",
                            at_key=True,
                        )
                    )
        if (
            known_templates is not None
            and s.template is not None
            and s.template not in known_templates
        ):
            add(
                Issue(
                    (*base, "template"),
                    f"unknown template '{s.template}'",
                    _did_you_mean(s.template, known_templates, "templates"),
                )
            )

    if d.intake.kind == "cohort":
        _unique(d.intake.cohorts, ("intake", "cohorts"), "cohort", add)
        for i, cohort in enumerate(d.intake.cohorts):
            for sid in cohort.dates:
                path = ("intake", "cohorts", i, "dates", sid)
                if sid not in steps:
                    add(
                        Issue(
                            path,
                            f"unknown step '{sid}' in cohort '{cohort.id}'",
                            _did_you_mean(sid, steps, "steps"),
                            at_key=True,
                        )
                    )
                elif sid in recurring:
                    add(
                        Issue(
                            path,
                            f"cohort date for recurring step '{sid}'",
                            "absolute dates are for single steps",
                            at_key=True,
                        )
                    )

    cycle = _find_cycle(d)
    if cycle:
        first = cycle[0]
        idx = next(i for i, s in enumerate(d.steps) if s.id == first)
        add(
            Issue(
                ("steps", idx),
                "dependency cycle: " + " → ".join([*cycle, first]),
                "a step cannot wait, directly or through others, for itself; remove one "
                "of these references",
            )
        )
    return issues


def _unique(items: Iterable[object], base: PathT, noun: str, add: object) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        ident = str(getattr(item, "id", ""))
        if ident in seen:
            add(
                Issue(
                    (*base, i, "id"),
                    f"duplicate {noun} id '{ident}'",  # type: ignore[operator]
                    f"{noun} ids must be unique; the first is item {seen[ident] + 1}",
                )
            )
        else:
            seen[ident] = i


def _check_before(offsets: list[Offset], base: PathT, what: str, add: object) -> None:
    for j, off in enumerate(offsets):
        if off.amount <= 0:
            add(
                Issue(
                    (*base, j),
                    f"{what} are given as a positive time before the due date",  # type: ignore[operator]
                    "e.g. '{working_days: 2}' for two working days before",
                )
            )


def _check_after(off: Offset, path: PathT, add: object) -> None:
    if off.amount <= 0:
        add(
            Issue(
                path,
                "escalation 'after' must be a positive time after the due date",  # type: ignore[operator]
                "e.g. '{working_days: 3}'",
            )
        )


def _check_repeat(r: Repeat, path: PathT, add: object) -> None:
    if len(set(r.weekdays)) != len(r.weekdays):
        add(Issue((*path, "weekdays"), "a weekday is listed twice"))  # type: ignore[operator]


def _edges(d: Definition) -> dict[str, list[str]]:
    edges: dict[str, list[str]] = {s.id: [] for s in d.steps}
    for s in d.steps:
        refs = list(s.depends_on)
        for when in (
            s.when,
            s.repeat.start if s.repeat else None,
            s.repeat.until if s.repeat else None,
        ):
            if when is not None and "." in when.anchor:
                refs.append(when.anchor.split(".", 1)[1])
        if s.only_after is not None:
            refs.append(s.only_after.step)
        edges[s.id] = [r for r in refs if r in edges and r != s.id]
    return edges


def _find_cycle(d: Definition) -> list[str] | None:
    edges = _edges(d)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for s in d.steps:
        if s.id not in state:
            found = visit(s.id)
            if found:
                return found
    return None


def dependency_order(d: Definition) -> list[str]:
    """Step ids so that every step comes after what it refers to (definition order kept)."""
    edges = _edges(d)
    done: set[str] = set()
    out: list[str] = []

    def visit(node: str) -> None:
        if node in done:
            return
        done.add(node)
        for dep in edges[node]:
            visit(dep)
        out.append(node)

    for s in d.steps:
        visit(s.id)
    return out
