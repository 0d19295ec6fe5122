"""Printing the record for people: tables of enrollments, steps and impact reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the CLI imports this module for every command: no store, no engine
    from iba_workflow.engine import ImpactLine
    from iba_workflow.store.tables import CompletionRow, EnrollmentRow, StepInstanceRow
    from iba_workflow.timeline import TimelineEntry


def print_impact(out: Console, lines: Sequence[ImpactLine]) -> None:
    if not lines:
        out.print("no change to the plan")
        return
    table = Table("step", "change", "old date", "new date", box=None, pad_edge=False)
    for line in lines:
        old = _when(line.old_date, line.old_time)
        new = _when(line.new_date, line.new_time)
        table.add_row(line.key, line.change, old, new)
    out.print(table)


def _when(day: dt.date | None, time: dt.time | None) -> str:
    return f"{day or '—'}{' ' + time.strftime('%H:%M') if time else ''}"


def print_status(out: Console, enrollments: Sequence[EnrollmentRow]) -> None:
    if not enrollments:
        out.print("no enrollments")
        return
    table = Table("id", "definition", "version", "start", "status", "ended", box=None)
    for e in enrollments:
        table.add_row(
            str(e.id),
            e.definition_id,
            str(e.definition_version),
            str(e.start),
            e.status,
            f"{e.ended_on} {e.ended_reason or ''}" if e.ended_on else "",
        )
    out.print(table)


def print_steps(
    out: Console,
    enrollment: EnrollmentRow,
    steps: Sequence[tuple[StepInstanceRow, CompletionRow | None]],
) -> None:
    out.print(
        f"enrollment {enrollment.id}: {enrollment.definition_id} v{enrollment.definition_version}"
        f", start {enrollment.start}, {enrollment.status}"
    )
    table = Table("step id", "key", "date", "time", "assignee", "status", "outcome", box=None)
    for row, done in steps:
        table.add_row(
            str(row.id),
            row.key,
            str(row.due_date),
            row.due_time.strftime("%H:%M") if row.due_time else "",
            row.assignee_role,
            row.status,
            (done.outcome or "") if done else "",
        )
    out.print(table)


def print_timeline(out: Console, entries: Sequence[TimelineEntry]) -> None:
    for e in entries:
        out.print(f"{e.day}  {e.participant:<24} {e.what}", markup=False)
