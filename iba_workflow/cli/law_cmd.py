"""Law rules as checks, called from ``iba validate`` and ``iba plan``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from iba_workflow import paths

if TYPE_CHECKING:
    from iba_workflow.definition import Definition

err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_law_findings(d: Definition) -> int:
    """Print every law rule ``d`` breaks (paragraph, problem, fix) to stderr; the count."""
    from iba_workflow.calendar import calendar_for
    from iba_workflow.privacy.law_rules import check_law_rules

    calendar = calendar_for(d.municipality, paths.calendars_dir())
    findings = check_law_rules(d, calendar=calendar)
    for f in findings:
        err.print(f.render(), markup=False)
    return len(findings)
