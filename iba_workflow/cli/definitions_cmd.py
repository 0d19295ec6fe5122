"""Commands about definitions and plans: validate, plan, schema, preview."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from iba_workflow import paths
from iba_workflow.catalog import find_definition_file, iter_definition_files
from iba_workflow.errors import DefinitionError, IbaError, PlanError

from .app import app, fail
from .law_cmd import print_law_findings
from .render import print_plan

if TYPE_CHECKING:  # the definition model, calendars and the planner: imported by the commands
    from iba_workflow.calendar import WorkingCalendar
    from iba_workflow.definition import Definition
    from iba_workflow.planning import ChosenOutcome

out = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


def _load(definition: str) -> tuple[Path, Definition]:
    from iba_workflow.definition import load_definition

    path = find_definition_file(definition, paths.definitions_dir())
    return path, load_definition(path, known_templates=paths.known_templates())


def _parse_branches(values: list[str]) -> list[ChosenOutcome]:
    from iba_workflow.planning import ChosenOutcome

    chosen = []
    for raw in values:
        if "=" not in raw:
            raise PlanError(
                f"--branch {raw!r} needs the form STEP=OUTCOME",
                hint="e.g. --branch evaluering=forlaengelse",
            )
        key, outcome = raw.split("=", 1)
        chosen.append(ChosenOutcome(key.strip(), outcome.strip()))
    return chosen


@app.command()
def validate(
    paths_: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATHS]...", help="Definition files or folders (default: definitions/)."
        ),
    ] = None,
) -> None:
    """Validate definitions; list every problem with file, line and a hint. Exit 1 on any."""
    from iba_workflow.planning.validate import validate_file

    files: list[Path] = []
    for p in paths_ or [paths.definitions_dir()]:
        files.extend(iter_definition_files(p) if p.is_dir() else [p])
    if not files:
        out.print("no definition files found")
        raise typer.Exit(1)
    templates = paths.known_templates()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    folder = paths.definitions_dir()
    known_ids = {p.stem for p in files} | (
        {p.stem for p in iter_definition_files(folder)} if folder.is_dir() else set()
    )
    bad = 0
    began = time.perf_counter()
    total_paths = total_plans = 0
    for f in files:
        report = validate_file(
            f,
            calendars_dir=paths.calendars_dir(),
            known_templates=templates,
            known_definitions=known_ids,
        )
        for problem in report.problems:
            err.print(problem.render(), markup=False)
        if report.errors:
            bad += 1
            continue
        d = report.definition
        assert d is not None
        if print_law_findings(d):  # law rules as checks (privacy/law_rules.py)
            bad += 1
            continue
        walked = ""
        if report.exploration is not None:
            x = report.exploration
            total_paths += x.paths
            total_plans += x.plans
            walked = (
                f"; {x.paths} paths from {x.starts} starts ({x.pauses} with a pause), "
                f"{x.plans} plans, {x.pruned} pruned"
            )
        warned = f", {len(report.warnings)} warnings" if report.warnings else ""
        out.print(
            f"[green]ok[/green]  {f}  ({d.id} v{d.version}, {len(d.steps)} steps{walked}{warned})"
        )
    seconds = time.perf_counter() - began
    if bad:
        out.print(f"{bad} of {len(files)} definitions have problems")
        raise typer.Exit(1)
    if len(files) > 1:
        out.print(
            f"all {len(files)} definitions valid on every path: {total_paths} paths, "
            f"{total_plans} plans in {seconds:.1f} s"
        )


@app.command()
def plan(
    definition: Annotated[str, typer.Argument(help="An id (fagmentor) or a path.")],
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Start date, YYYY-MM-DD.")
    ] = None,
    cohort: Annotated[str | None, typer.Option(help="A cohort id (fælles start).")] = None,
    weeks: Annotated[int | None, typer.Option(help="Length, for a 9–12 week course.")] = None,
    branch: Annotated[
        list[str] | None, typer.Option(help="Choose an outcome: STEP=OUTCOME (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or ics.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Print the dated plan of DEFINITION from a start date or cohort."""
    from iba_workflow.calendar import calendar_for
    from iba_workflow.planning import PlanOverrides, plan_enrollment

    if fmt not in ("table", "json", "ics"):
        fail(IbaError(f"unknown format {fmt!r}", hint="use table, json or ics"))
    try:
        _, d = _load(definition)
        cal = calendar_for(d.municipality, paths.calendars_dir())
        result = plan_enrollment(
            d,
            calendar=cal,
            start=start.date() if start else None,
            cohort=cohort,
            overrides=PlanOverrides(duration_weeks=weeks),
            outcomes=_parse_branches(branch or []),
        )
    except IbaError as exc:
        fail(exc)
        return
    print_law_findings(d)  # a plan that breaks a law rule is a warning, not silent
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
        _emit(text.encode("utf-8"), output)
    elif fmt == "ics":
        from iba_workflow.planning.ics import plan_to_ics

        _emit(plan_to_ics(result, name=d.name), output)
    else:
        print_plan(out, d, result)
        _print_clashes(result, cal)


def _print_clashes(result: object, cal: WorkingCalendar) -> None:
    """Anyone the plan books twice (issue 12): both items and a proposal."""
    from iba_workflow.schedule.clashes import plan_clashes

    clashes = plan_clashes(result, cal)
    if clashes:
        out.print(f"Dobbeltbookinger ({len(clashes)}):", style="bold")
        for c in clashes:
            out.print(f"  {c.describe()}", markup=False)


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)
        out.print(f"wrote {output}")


@app.command()
def schema(
    check: Annotated[
        bool, typer.Option(help="Exit 1 if definitions/schema.json is stale.")
    ] = False,
    write: Annotated[bool, typer.Option(help="Write definitions/schema.json.")] = False,
) -> None:
    """Print the JSON Schema of the definition language (generated from the model)."""
    from iba_workflow.definition.schema import schema_text

    text = schema_text()
    target = paths.definitions_dir() / "schema.json"
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            fail(IbaError(f"{target} is stale", hint="run 'iba schema --write'"))
        out.print(f"{target} is up to date")
        return
    if write:
        target.write_text(text, encoding="utf-8")
        out.print(f"wrote {target}")
        return
    typer.echo(text, nl=False)


@app.command()
def preview(
    start: Annotated[
        dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Start date for rolling intakes.")
    ] = dt.datetime(2027, 3, 1),
) -> None:
    """Validate every definition and print each plan (cohorts: their first cohort)."""
    from iba_workflow.calendar import calendar_for
    from iba_workflow.definition import load_definition
    from iba_workflow.planning import plan_enrollment

    templates = paths.known_templates()
    bad = 0
    for f in iter_definition_files(paths.definitions_dir()):
        try:
            d = load_definition(f, known_templates=templates)
            cal = calendar_for(d.municipality, paths.calendars_dir())
            cohorts = d.intake.cohorts if d.intake.kind == "cohort" else []
            result = plan_enrollment(
                d,
                calendar=cal,
                cohort=cohorts[0].id if cohorts else None,
                start=None if cohorts else start.date(),
            )
        except DefinitionError as exc:
            bad += 1
            Console(stderr=True, highlight=False, soft_wrap=True).print(exc.render(), markup=False)
            continue
        except IbaError as exc:
            bad += 1
            Console(stderr=True, highlight=False, soft_wrap=True).print(f"{f}: {exc}", markup=False)
            continue
        print_plan(out, d, result)
        out.print()
    if bad:
        raise typer.Exit(1)
