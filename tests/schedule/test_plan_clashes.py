"""Clashes in a plan (issue 12): the HOP plan puts the Friday evaluation at 12:00 inside
Friday teaching 09:00-13:00; `iba plan` shows it with both items and a proposal."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.cli.app import app
from iba_workflow.definition import load_definition
from iba_workflow.planning import plan_enrollment
from iba_workflow.schedule.clashes import plan_clashes


def _plan(name: str, start: dt.date | None):  # type: ignore[no-untyped-def]
    d = load_definition(paths.definitions_dir() / f"{name}.yaml")
    cal = calendar_for(d.municipality, paths.calendars_dir())
    return plan_enrollment(d, calendar=cal, start=start), cal


def test_the_hop_plan_books_the_iba_twice_on_fridays() -> None:
    plan, cal = _plan("hop", dt.date(2027, 3, 1))
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


def test_a_plan_without_overlaps_has_no_clash() -> None:
    plan, cal = _plan("fagmentor", dt.date(2027, 3, 1))
    timed = [s for s in plan.steps if s.time is not None]
    assert timed
    assert plan_clashes(plan, cal) == []


def test_iba_plan_prints_the_clashes() -> None:
    result = CliRunner().invoke(app, ["plan", "hop", "--start", "2027-03-01"])
    assert result.exit_code == 0
    assert "Dobbeltbookinger (" in result.output
    assert "iba er booket to gange fredag 05.03.2027" in result.output
