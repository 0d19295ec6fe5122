"""Clashes in a plan (issue 12): HOP as it was shipped before, with the Friday evaluation
at 12:00 inside Friday teaching 09:00-13:00, books the IBA twice; `iba plan` shows such a
clash with both items and a proposal. The shipped definitions have none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.cli.app import app
from iba_workflow.definition import load_definition
from iba_workflow.planning import plan_enrollment
from iba_workflow.schedule.clashes import plan_clashes

SHIPPED = ("hop", "fagmentor", "sunde_kvinder", "de_internationale", "motion_sygemeldte")


def _noon_hop(tmp_path: Path) -> Path:
    """hop.yaml with the weekly evaluation back at 12:00 (inside Friday teaching)."""
    text = (paths.definitions_dir() / "hop.yaml").read_text(encoding="utf-8")
    marker = '      until: {anchor: end}\n      time: "13:00"\n      on_closed_day: previous'
    assert text.count(marker) == 1
    target = tmp_path / "hop.yaml"
    target.write_text(text.replace(marker, marker.replace('"13:00"', '"12:00"')), "utf-8")
    return target


def _plan(path: Path, start: dt.date | None):  # type: ignore[no-untyped-def]
    d = load_definition(path)
    cal = calendar_for(d.municipality, paths.calendars_dir())
    return plan_enrollment(d, calendar=cal, start=start), cal


def test_an_evaluation_inside_friday_teaching_books_the_iba_twice(tmp_path: Path) -> None:
    plan, cal = _plan(_noon_hop(tmp_path), dt.date(2027, 3, 1))
    clashes = plan_clashes(plan, cal)
    friday = [c for c in clashes if c.first.start.date() == dt.date(2027, 3, 5)]
    assert [(c.person, c.first.label, c.second.label) for c in friday] == [
        (
            "iba",
            "Undervisning ved jobcenteret (undervisning#3)",
            "Ugentlig evaluering med kvinderne (ugentlig_evaluering#1)",
        )
    ]
    assert "forslag: flyt Ugentlig evaluering" in friday[0].describe()
    # every clash really overlaps, for the same person
    for c in clashes:
        assert c.first.person == c.second.person == c.person
        assert c.first.start < c.second.end and c.second.start < c.first.end


def test_no_shipped_plan_has_a_clash() -> None:
    for name in SHIPPED:
        for start in (dt.date(2027, 3, 1), dt.date(2026, 12, 7)):
            plan, cal = _plan(paths.definitions_dir() / f"{name}.yaml", start)
            assert [s for s in plan.steps if s.time is not None], name
            assert plan_clashes(plan, cal) == [], (name, start)


def test_iba_plan_prints_the_clashes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(_noon_hop(tmp_path)), "--start", "2027-03-01"])
    assert result.exit_code == 0
    assert "Dobbeltbookinger (" in result.output
    assert "iba er booket to gange fredag 05.03.2027" in result.output
