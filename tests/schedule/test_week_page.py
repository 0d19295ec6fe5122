"""The paper the IBA hands the woman: the week page in Danish, printed to PDF by headless
Chromium, with her fixed days, her placed week and her hours; no name, a line for it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hop_group import FIRST_MONDAY, OPENING, hop_group

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.schedule.grid import WeekGrid
from iba_workflow.schedule.page import html_to_pdf, week_html
from iba_workflow.schedule.solver import solve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CAL = calendar_for("hedensted", paths.calendars_dir())
EASTER_WEEK = dt.date(2027, 3, 22)


def _page(monday: dt.date, ref: str = "HOP-03") -> str:
    problem = hop_group(weeks=1)
    problem = type(problem)(**{**problem.__dict__, "first_monday": monday})
    solution = solve(problem, CAL)
    grid = WeekGrid.for_week(monday, OPENING, 30, CAL)
    (hours,) = [h for h in solution.hours if h.ref == ref]
    return week_html(
        ref=ref,
        intervention="HOP",
        monday=monday,
        placements=solution.placements,
        hours=hours,
        closed=grid.closed,
        reasons=[u.reason for u in solution.unplaced if ref in u.people and len(u.people) == 1],
    )


def test_week_page_shows_her_fixed_days_her_week_and_her_hours() -> None:
    html = _page(FIRST_MONDAY)
    assert '<html lang="da">' in html and "Ugeskema · Uge 9" in html
    assert "Mandag 1/3" in html and "Fredag 5/3" in html
    assert html.count("sprogskole") == 2  # HOP-03: Monday and Thursday
    assert "Praktisk undervisning" in html  # the group's sessions are every 4th week
    assert "Timer i ugen: <strong>25 t</strong> af 25 t" in html
    assert "Navn: ____" in html


def test_a_holiday_week_says_closed_and_why_hours_are_short() -> None:
    html = _page(EASTER_WEEK)
    assert "Lukket: Skærtorsdag" in html and "Lukket: Langfredag" in html
    assert "Ikke placeret" in html and "ingen anden ledig" in html


def test_the_page_prints_to_a_pdf_in_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("headless Chromium (Debian package 'chromium') is not installed")
        pytest.skip("headless Chromium is not installed")
    target = html_to_pdf(_page(FIRST_MONDAY), tmp_path / "uge.pdf", chromium=CHROMIUM)
    assert target.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Ugeskema · Uge 9" in text and "sprogskole" in text and "25 t" in text
        assert text.count("\f") == 1  # one landscape A4 page
