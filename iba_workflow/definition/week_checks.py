"""Rules for the week-schedule fields of a step (issue 12): ``held``, ``own_days`` and
``around_own_days``. Called by :func:`iba_workflow.definition.checks.check_definition`."""

from __future__ import annotations

from collections.abc import Callable

from .model import AnyStep, Definition

PathT = tuple[str | int, ...]


def check_week_fields(
    d: Definition, s: AnyStep, base: PathT, add: Callable[[PathT, str, str], None]
) -> None:
    """Each problem is passed to ``add(path, message, hint)``."""
    if s.held == "per_group":
        if d.intake.kind == "rolling" and s.repeat is None:
            add(
                (*base, "held"),
                f"group step '{s.id}' of a rolling intake needs 'repeat'",
                "a rolling group meets on calendar days and each participant joins those of "
                "her weeks: give 'repeat: {every_weeks: 4, weekdays: [thu], count: 1, "
                "until: {anchor: end}}'",
            )
        if s.own_days is not None or s.around_own_days:
            add(
                (*base, "held"),
                f"group step '{s.id}' cannot follow one participant's own days",
                "remove 'own_days'/'around_own_days', or hold the step per participant",
            )
    if s.own_days is not None:
        if s.repeat is None:
            add(
                (*base, "own_days"),
                f"step '{s.id}' has 'own_days' but no 'repeat'",
                "her own days recur weekly: add 'repeat: {until: {anchor: end}}' without weekdays",
            )
        elif s.repeat.weekdays:
            add(
                (*base, "repeat", "weekdays"),
                f"step '{s.id}' takes her own days ('own_days'), so it cannot fix weekdays",
                "remove 'weekdays': each participant's days come from her fixed commitments",
            )
        if s.around_own_days:
            add(
                (*base, "around_own_days"),
                f"step '{s.id}' is her own days; it cannot also go around them",
                "remove 'around_own_days'",
            )
    elif s.repeat is not None and not s.repeat.weekdays:
        add(
            (*base, "repeat", "weekdays"),
            f"recurring step '{s.id}' has no weekdays",
            "give 'weekdays: [tue]', or 'own_days: sprogskole' when each participant has her "
            "own days",
        )
    if s.around_own_days and s.repeat is None:
        add(
            (*base, "around_own_days"),
            f"step '{s.id}' goes around her own days but does not repeat",
            "'around_own_days' moves weekly occurrences; add 'repeat' or remove it",
        )
    if s.around_own_days and not any(o.own_days for o in d.steps):
        add(
            (*base, "around_own_days"),
            f"step '{s.id}' goes around her own days, but no step has 'own_days'",
            "add a step with 'own_days: sprogskole', or remove 'around_own_days'",
        )
