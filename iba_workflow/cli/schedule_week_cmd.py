"""``iba schedule week`` (solve, show, save, print), ``solve`` (a what-if from YAML) and
``attendance`` (a group session, per woman)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from .common import run_command, store_session
from .schedule_cmd import calendar_reader, out, schedule_app


@schedule_app.command("week")
def week(
    definition: Annotated[str, typer.Argument(help="The intervention: hop, ...")],
    monday: Annotated[
        dt.datetime, typer.Option("--week", formats=["%Y-%m-%d"], help="A day of the week.")
    ],
    weeks: Annotated[int, typer.Option(min=1, max=26, help="How many weeks.")] = 1,
    save: Annotated[bool, typer.Option(help="Save it (feeds read the saved one).")] = False,
    html: Annotated[Path | None, typer.Option(help="Write one page per participant here.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Also print them to PDF here.")] = None,
    calendars: Annotated[bool, typer.Option(help="Read staff calendars.")] = True,
) -> None:
    """Place the week(s) of everyone enrolled: hours, what could not be placed and why,
    clashes, and (with a saved schedule) what moved."""
    from iba_workflow.schedule.reasons import hours_text, week_label
    from iba_workflow.schedule.shapes import week_shape
    from iba_workflow.schedule.solver import solve
    from iba_workflow.schedule.week import (
        monday_of,
        problem_from_store,
        save_solution,
        saved_solution,
        week_clashes,
    )

    def action() -> None:
        shape = week_shape(definition)
        first = monday_of(monday.date())
        with store_session() as (session, ctx):
            problem = problem_from_store(
                session,
                shape,
                first_monday=first,
                weeks=weeks,
                busy_reader=calendar_reader() if calendars else None,
            )
            calendar = ctx.calendars(_municipality(session, definition))
            old = saved_solution(session, definition, first, weeks)
            solution = solve(problem, calendar, previous=old if old.placements else None)
            for n in range(weeks):
                w = first + dt.timedelta(weeks=n)
                out.print(f"[bold]{definition} · {week_label(w)} ({w})[/bold]")
                for h in (h for h in solution.hours if h.week == w):
                    mark = "✓" if h.reason is None else "!"
                    out.print(
                        f"  {mark} {h.ref:<14} {hours_text(h.placed_minutes):>8} af "
                        f"{hours_text(h.target_minutes)}"
                    )
                for u in (u for u in solution.unplaced if u.week == w):
                    out.print(f"    ikke placeret: {u.reason}", markup=False)
            if old.placements:
                fixed = [p for p in solution.placements if p.kind == "commitment"]
                old.placements.extend(fixed)
                clashes = week_clashes(session, problem, old, calendar)
                out.print("Dobbeltbookinger i det gemte skema: " + ("ingen" if not clashes else ""))
                for c in clashes:
                    out.print(f"  {c.describe()}", markup=False)
            if save:
                changes = save_solution(session, definition, solution, first, weeks)
                session.commit()
                out.print(f"saved; {len(changes)} changes against the saved schedule")
                for ch in changes:
                    out.print(f"  {ch.describe()}", markup=False)
            if html is not None:
                _pages(solution, problem, calendar, definition, html, pdf)

    run_command(action)


def _municipality(session: object, definition: str) -> str:
    from sqlmodel import select

    from iba_workflow.store.tables import EnrollmentRow

    row = session.exec(  # type: ignore[attr-defined]
        select(EnrollmentRow).where(EnrollmentRow.definition_id == definition)
    ).first()
    return row.municipality if row else "hedensted"


def _pages(solution, problem, calendar, definition, folder: Path, pdf: Path | None) -> None:  # type: ignore[no-untyped-def]
    from iba_workflow.schedule.grid import WeekGrid
    from iba_workflow.schedule.page import html_to_pdf, week_html

    folder.mkdir(parents=True, exist_ok=True)
    if pdf is not None:
        pdf.mkdir(parents=True, exist_ok=True)
    for n in range(problem.weeks):
        w = problem.first_monday + dt.timedelta(weeks=n)
        grid = WeekGrid.for_week(w, problem.opening, problem.slot_minutes, calendar)
        for h in (h for h in solution.hours if h.week == w):
            page = week_html(
                ref=h.ref,
                intervention=definition,
                monday=w,
                placements=[p for p in solution.placements if p.week == w],
                hours=h,
                closed=grid.closed,
                reasons=[
                    u.reason
                    for u in solution.unplaced
                    if u.week == w and h.ref in u.people and len(u.people) <= 2
                ],
            )
            target = folder / f"{h.ref}-{w}.html"
            target.write_text(page, encoding="utf-8")
            if pdf is not None:
                html_to_pdf(page, pdf / f"{h.ref}-{w}.pdf")
    out.print(f"pages in {folder}" + (f", PDF in {pdf}" if pdf else ""))


@schedule_app.command("solve")
def solve_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="A week problem as YAML (docs/schedule.md).", exists=True, dir_okay=False
        ),
    ],
) -> None:
    """Solve a week problem written as YAML, without the database: try a what-if."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from iba_workflow import paths
    from iba_workflow.calendar import calendar_for
    from iba_workflow.schedule.model import ScheduleError
    from iba_workflow.schedule.problem_file import describe_solution, problem_from_data
    from iba_workflow.schedule.solver import solve

    def action() -> None:
        try:
            data = YAML(typ="safe", pure=True).load(file.read_text(encoding="utf-8"))
        except YAMLError as exc:
            raise ScheduleError(f"{file.name} is not valid YAML: {exc}") from None
        problem, municipality = problem_from_data(data)
        solution = solve(problem, calendar_for(municipality, paths.calendars_dir()))
        for line in describe_solution(solution):
            out.print(line, markup=False)

    run_command(action)


@schedule_app.command("attendance")
def attendance(
    definition: Annotated[str, typer.Argument(help="The intervention: hop, ...")],
    session_id: Annotated[str, typer.Argument(help="The group session: virksomhedsoplaeg, ...")],
    day: Annotated[dt.datetime, typer.Option("--day", formats=["%Y-%m-%d"], help="YYYY-MM-DD.")],
    absent: Annotated[
        list[str] | None, typer.Option(help="REF=REASON for one who was away (repeatable).")
    ] = None,
) -> None:
    """Record who attended a group session: everyone placed in it, but the absent."""
    from iba_workflow.errors import InvalidInput
    from iba_workflow.schedule.attendance import record_session_attendance

    def action() -> None:
        away: dict[str, str] = {}
        for item in absent or []:
            ref, sep, reason = item.partition("=")
            if not sep or not ref:
                raise InvalidInput(f"not REF=REASON: {item!r}", hint="--absent HOP-03=syg")
            away[ref] = reason
        with store_session() as (session, ctx):
            rows = record_session_attendance(
                session,
                definition_id=definition,
                day=day.date(),
                session_id=session_id,
                absent=away,
                at=ctx.now(),
                actor=ctx.actor,
            )
            session.commit()
            present = sum(1 for r in rows if r.present)
            out.print(f"attendance: {present} present, {len(rows) - present} absent")

    run_command(action)
