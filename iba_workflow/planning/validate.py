"""``iba validate`` for one file: load it (every problem at once), then walk every path.

Findings of the every-path walk are told like loading problems: file, line and column of
the step (or the key inside it) they concern, a sentence, the path that shows it, a fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iba_workflow.calendar import calendar_for
from iba_workflow.definition.diagnostics import Positions
from iba_workflow.definition.loader import load_located
from iba_workflow.definition.model import Definition
from iba_workflow.errors import DefinitionError, IbaError, Problem

from .explore import STANDARD_STARTS, Exploration, explore_definition
from .path_checks import Finding


@dataclass
class FileReport:
    file: str
    definition: Definition | None = None
    problems: list[Problem] = field(default_factory=list)
    exploration: Exploration | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def validate_file(
    path: str | Path,
    *,
    calendars_dir: Path | None,
    known_templates: Iterable[str] | None = None,
    known_definitions: Iterable[str] | None = None,
    starts: Sequence[tuple[str, dt.date]] = STANDARD_STARTS,
) -> FileReport:
    """Load ``path`` and, if it loads, explore every path of it. ``known_definitions``:
    the ids a handover (``proposes``) may name."""
    report = FileReport(str(path))
    try:
        d, pos = load_located(path, known_templates=known_templates)
    except DefinitionError as exc:
        report.problems = exc.problems
        return report
    report.definition = d
    if calendars_dir is None or not (calendars_dir / f"{d.municipality}.yaml").is_file():
        line, col = pos.of(("municipality",))
        report.problems.append(
            Problem(
                f"municipality '{d.municipality}' has no calendar file "
                f"(calendars/{d.municipality}.yaml): only public holidays are closed, so "
                "24/12, 31/12, Grundlovsdag and local closing days count as working days",
                file=report.file,
                line=line,
                column=col,
                hint=f"add calendars/{d.municipality}.yaml with the municipality's closing "
                "days (see calendars/hedensted.yaml)",
                path=("municipality",),
                severity="warning",
            )
        )
    if known_definitions is not None:
        known = set(known_definitions) | {d.id}
        for i, step in enumerate(d.steps):
            for j, o in enumerate(step.outcomes_list):
                if o.proposes is not None and o.proposes.definition not in known:
                    where = ("steps", i, "outcomes", j, "proposes", "definition")
                    line, col = pos.of(where)
                    report.problems.append(
                        Problem(
                            f"outcome '{o.id}' proposes a visitation to '{o.proposes.definition}',"
                            " which is not a definition here",
                            file=report.file,
                            line=line,
                            column=col,
                            hint="known definitions: " + ", ".join(sorted(known)),
                            path=where,
                        )
                    )
    try:
        cal = calendar_for(d.municipality, calendars_dir)
    except IbaError as exc:
        report.problems.append(Problem(exc.message, file=report.file, hint=exc.hint))
        return report
    report.exploration = explore_definition(d, cal, starts=starts)
    for finding, first_path in report.exploration.findings:
        report.problems.append(_locate(d, pos, report.file, finding, first_path))
    report.problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return report


def _locate(d: Definition, pos: Positions, file: str, f: Finding, first_path: str) -> Problem:
    path: tuple[str | int, ...] = f.where
    if f.step_id is not None:
        index = next(i for i, s in enumerate(d.steps) if s.id == f.step_id)
        path = ("steps", index, *f.where)
    line, col = pos.of(path, key=bool(f.where))
    where = f"on the path {first_path}"
    if f.example:
        where += f"; e.g. {f.example}"
    return Problem(
        f"{f.message} ({where})",
        file=file,
        line=line,
        column=col,
        hint=f.hint,
        path=path,
        severity=f.severity,
    )
