"""Plans: dated, ordered steps for one enrollment."""

from __future__ import annotations

from .plan import ChosenOutcome, OpenBranch, Period, Plan, PlannedStep, Skipped
from .planner import PlanOverrides, plan_enrollment

__all__ = [
    "ChosenOutcome",
    "OpenBranch",
    "Period",
    "Plan",
    "PlanOverrides",
    "PlannedStep",
    "Skipped",
    "plan_enrollment",
]
