"""The planner's outcome rules: a chosen outcome ends the course, stops steps, extends it
by a period (planning the listed steps again), or starts the steps of its branch; and
what each choice does, in Danish, for the open branches of a plan.

A mixin of the planner (:class:`~iba_workflow.planning.planner._Planner`): it works on the
planner's state, which it names below for the type checker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iba_workflow.definition.model import Definition, Outcome
from iba_workflow.errors import PlanError

from .plan import ChosenOutcome, Period, PlannedStep
from .template import DefinitionTemplate


class OutcomeRules:
    """Applies chosen outcomes to the plan being made (see the module's docstring)."""

    d: Definition
    t: DefinitionTemplate
    steps: dict[str, PlannedStep]
    periods: list[Period]
    order: Sequence[str]
    stopped: set[str]
    branches: set[tuple[str, str]]

    if TYPE_CHECKING:  # the planner's own methods

        def _place(self, sid: str, period: int, branch: tuple[str, str] | None) -> None: ...

        def _period(
            self, number: int, start: dt.date, weeks: int, reason: str | None
        ) -> Period: ...

        def _working(self, day: dt.date, policy: str) -> dt.date: ...

    def _apply_outcomes(
        self, outcomes: Sequence[ChosenOutcome]
    ) -> tuple[list[ChosenOutcome], ChosenOutcome | None]:
        pending = list(outcomes)
        chosen: list[ChosenOutcome] = []
        ended: ChosenOutcome | None = None
        seen: set[str] = set()
        while pending:
            ready = [c for c in pending if c.step_key in self.steps]
            if not ready and ended is not None:
                raise PlanError(
                    f"'{pending[0].step_key}' comes after the course ended with "
                    f"'{ended.outcome}' at '{ended.step_key}'",
                    hint="an ending outcome closes the course; choose outcomes in the order "
                    "they happen",
                )
            if not ready:
                keys = ", ".join(c.step_key for c in pending)
                raise PlanError(
                    f"no step '{keys}' in the plan to choose an outcome for",
                    hint="name a step instance that has outcomes, e.g. 'evaluering=forlaengelse'",
                )
            ready.sort(key=lambda c: (self.steps[c.step_key].date, c.step_key))
            choice = ready[0]
            pending.remove(choice)
            if choice.step_key in seen:
                raise PlanError(f"two outcomes chosen for '{choice.step_key}'")
            if ended is not None:
                raise PlanError(
                    f"'{choice.step_key}' comes after the course ended with '{ended.outcome}'"
                )
            seen.add(choice.step_key)
            planned = self.steps[choice.step_key]
            step = self.d.step(planned.step_id)
            match = [o for o in step.outcomes_list if o.id == choice.outcome]
            if not match:
                opts = ", ".join(o.id for o in step.outcomes_list) or "(none)"
                raise PlanError(
                    f"'{planned.step_id}' has no outcome '{choice.outcome}'",
                    hint=f"outcomes of '{planned.step_id}': {opts}",
                )
            chosen.append(choice)
            if self._apply(match[0], planned):
                ended = choice
        return chosen, ended

    def _on_chosen_branch(self, sid: str) -> bool:
        """A step of a branch is planned again in an extension only if its branch was
        chosen (``replan`` lists it for the enrollments that took that branch)."""
        cond = self.d.step(sid).only_after
        return cond is None or (cond.step, cond.outcome) in self.branches

    def _apply(self, outcome: Outcome, decided: PlannedStep) -> bool:
        """Apply one outcome. True if it ends the course."""
        branch = (decided.step_id, outcome.id)
        self.branches.add(branch)
        if outcome.ends:
            for key in [k for k, s in self.steps.items() if s.date > decided.date]:
                del self.steps[key]
            return True
        stopped = set(outcome.stops)
        self.stopped |= stopped  # for the rest of the enrollment, extensions included
        for key in [
            k for k, s in self.steps.items() if s.step_id in stopped and s.date > decided.date
        ]:
            del self.steps[key]
        period = decided.period
        if outcome.extend is not None:
            total = sum(p.weeks for p in self.periods) + outcome.extend.weeks
            limit = self.d.duration.extendable_to_weeks or 0
            if total > limit:
                raise PlanError(
                    f"extending by {outcome.extend.weeks} weeks makes {total} weeks, more than "
                    f"the {limit} weeks the course may last",
                    hint="choose another outcome",
                )
            prev = self.periods[-1]
            start = self._working(prev.end + dt.timedelta(days=1), "next")
            period = len(self.periods) + 1
            reason = f"{decided.step_id}: {outcome.id}"
            self.periods.append(self._period(period, start, outcome.extend.weeks, reason))
            replan = set(outcome.extend.replan)
            for sid in self.order:
                if sid in replan and sid not in self.stopped and self._on_chosen_branch(sid):
                    self._place(sid, period, branch)
        for sid in self.order:
            s = self.d.step(sid)
            if s.only_after is not None and (s.only_after.step, s.only_after.outcome) == branch:
                self._place(sid, period, branch)
        return False

    def _effect(self, o: Outcome, step_id: str) -> str:
        """What choosing ``o`` does, in Danish; once per definition (it depends on it only)."""
        found = self.t.effects.get((step_id, o.id))
        if found is None:
            found = self.t.effects[step_id, o.id] = self._describe(o, step_id)
        return found

    def _describe(self, o: Outcome, step_id: str) -> str:
        parts = []
        if o.ends:
            parts.append("afslutter forløbet")
        if o.stops:
            parts.append("stopper: " + ", ".join(o.stops))
        if o.proposes is not None:
            parts.append(f"foreslår visitation til '{o.proposes.definition}'")
        if o.extend is not None:
            parts.append(f"forlænger med {o.extend.weeks} uger")
            if o.extend.replan:
                parts.append("planlægger igen: " + ", ".join(o.extend.replan))
        branch_steps = [
            s.id
            for s in self.d.steps
            if s.only_after is not None
            and (s.only_after.step, s.only_after.outcome) == (step_id, o.id)
        ]
        if branch_steps:
            parts.append("starter: " + ", ".join(branch_steps))
        return "; ".join(parts) or "ingen ændring i planen"
