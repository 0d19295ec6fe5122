"""A plan as a table a coordinator reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from iba_workflow.definition import Definition
    from iba_workflow.planning import Plan


def print_plan(console: Console, d: Definition, plan: Plan) -> None:
    from iba_workflow.calendar import WEEKDAYS_DA

    head = f"[bold]{d.name}[/bold] v{d.version}"
    if plan.cohort:
        head += f" · hold {plan.cohort}"
    console.print(head)
    console.print(
        f"visitation {plan.visitation} · start {plan.start} · midtvejs {plan.midway} · "
        f"slut {plan.end}"
    )
    for p in plan.periods[1:]:
        console.print(f"forlængelse {p.number}: {p.start} – {p.end} ({p.weeks} uger; {p.reason})")
    table = Table(show_lines=False, header_style="bold")
    for col in ("Dato", "Tid", "Trin", "Rolle", "Forankring", "Flyttet"):
        table.add_column(col, no_wrap=col in ("Dato", "Tid"))
    for s in plan.steps:
        table.add_row(
            f"{WEEKDAYS_DA[s.date.weekday()][:3]} {s.date.isoformat()}",
            s.time.strftime("%H:%M") if s.time else "",
            f"{s.name}" + (f" #{s.occurrence}" if s.occurrence else f" [dim]({s.key})[/dim]"),
            s.assignee,
            s.anchor,
            s.shift_reason or "",
        )
    console.print(table)
    if plan.skipped:
        console.print(f"{len(plan.skipped)} gentagelser holdes ikke:")
        for sk in plan.skipped:
            day = f"{WEEKDAYS_DA[sk.date.weekday()][:3]} {sk.date.isoformat()}"
            console.print(f"  {day}  {sk.name or sk.step_key} ({sk.step_key}): {sk.reason}")
    for key in plan.own_days:  # issue 12: her own days, not known yet
        console.print(
            f"{key}: på hendes egne dage (faste aftaler); ingen datoer, før de er indtastet"
        )
    groups = sorted({s.step_id for s in plan.steps if s.group})
    if groups:
        console.print("holdes én gang for hele holdet: " + ", ".join(groups))
    # Each step's assumption once (a recurring step has it on every occurrence).
    lines = list(dict.fromkeys(f"{s.name}: {s.assumption}" for s in plan.steps if s.assumption))
    lines += list(plan.assumptions)
    if lines:
        console.print("Antagelser, som kilden ikke siger (bekræft):")
        for line in lines:
            console.print(f"  · {line}", markup=False)
    if plan.ended_by:
        console.print(f"afsluttet af {plan.ended_by.step_key} = {plan.ended_by.outcome}")
    for b in plan.open_branches:
        console.print(f"åben gren: --branch {b.step_key}={b.outcome}  ({b.name}: {b.effect})")
