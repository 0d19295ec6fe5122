"""`iba report` gives exactly the expected tables in HTML, PDF, XLSX and JSON for a store
seeded through the engine; small numbers are suppressed in every one of them."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_world import EXPECTED, PERIOD

from iba_workflow.reports import build_report, render
from iba_workflow.reports.render import cell_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


def _report(world: Any, threshold: int = 3, charts: bool = True) -> Any:
    return build_report(
        world.session,
        definition_id="sunde_kvinder",
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        threshold=threshold,
        made_on=PERIOD[1],
        charts=charts,
    )


class _Tables(HTMLParser):
    """The text of every <td> row of every <table>, as lists of strings."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _as_text(rows: list[list[Any]]) -> list[list[str]]:
    return [[cell_text(v) for v in row] for row in rows]


def test_tables_are_exactly_the_expected_ones(world: Any) -> None:
    report = _report(world, charts=False)
    assert {t.key: t.rows for t in report.tables} == EXPECTED


def test_json_parses_back_to_the_expected_tables(world: Any) -> None:
    data = json.loads(render(_report(world, charts=False), "json"))
    assert {k: t["raekker"] for k, t in data["tabeller"].items()} == EXPECTED
    assert data["lavt_antal_graense"] == 3


def test_xlsx_has_one_sheet_per_table_with_the_expected_rows(world: Any) -> None:
    from openpyxl import load_workbook

    report = _report(world, charts=False)
    book = load_workbook(io.BytesIO(render(report, "xlsx")))
    for table in report.tables:
        sheet = book[table.title[:31].replace("→", "-")]
        rows = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
        body = rows[: len(EXPECTED[table.key])]
        assert body == EXPECTED[table.key], table.key
        assert [c.value for c in sheet[2]] == table.columns


def test_html_shows_the_expected_tables_and_four_charts(world: Any) -> None:
    report = _report(world)
    html = render(report, "html").decode("utf-8")
    parser = _Tables()
    parser.feed(html)
    assert parser.tables == [_as_text(EXPECTED[t.key]) for t in report.tables if t.rows]
    assert html.count("data:image/png;base64,") == 4
    assert "&lt;3" in html and "Fremmøde over ugerne" in html and "„..“" in html


def test_pdf_shows_the_same_numbers_and_is_rendered_to_png(world: Any) -> None:
    report = _report(world)
    pdf = render(report, "pdf")
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sunde_kvinder.pdf").write_bytes(pdf)
    text = _pdftotext(pdf)
    flat = " ".join(text.split())
    for key, rows in EXPECTED.items():
        for row in rows:
            assert " ".join(_as_text([row])[0]) in flat, (key, row)
    if shutil.which("pdftoppm"):
        prefix = ARTIFACTS / "sunde_kvinder"
        subprocess.run(
            ["pdftoppm", "-r", "70", "-png", str(ARTIFACTS / "sunde_kvinder.pdf"), str(prefix)],
            check=True,
        )
        assert sorted(ARTIFACTS.glob("sunde_kvinder-*.png"))


def _pdftotext(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (Debian package poppler-utils) is needed to read the PDF")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def test_suppression_at_the_threshold_two_hidden_three_shown(world: Any) -> None:
    report = _report(world, charts=False)
    rejections = {r[0]: r[1] for r in report.table("afvisninger").rows}
    # two citizens gave this reason: hidden; three reached this outcome: shown
    assert rejections["Ønsker ikke at deltage"] == "<3"
    assert report.table("udfald").rows[1][2:] == [3, 50.0]
    stricter = _report(world, threshold=4, charts=False)
    assert stricter.table("udfald").rows[1][2:] == ["<4", "<4"]
    assert stricter.table("forloeb").rows[-1][1] == 10


def test_no_hidden_cell_comes_back_by_one_subtraction(world: Any) -> None:
    from iba_workflow.reports.suppression import leaks
    from iba_workflow.reports.tables import _sums

    report = _report(world, charts=False)
    for table in report.tables:
        relations, _ = _sums(table.key, [[_Plain(v) for v in row] for row in table.rows])
        assert leaks(table.rows, relations) == [], table.key
    course = report.table("forloeb").rows
    assert course[1][1] == 5 and course[1][3] == "<3"  # 5 referred, fewer than 3 waiting:
    assert course[1][5] == ".."  # so "started" must not be shown, or 5 - 4 = 1 waits


class _Plain:
    def __init__(self, value: Any) -> None:
        self.value, self.base = value, None


def test_a_suppressed_number_is_in_no_output(world: Any) -> None:
    """The hidden count of the week with two women, and the one waiting woman's 354 days,
    appear in none of the files."""
    report = _report(world)
    data = json.loads(render(report, "json"))
    assert data["tabeller"]["ventetid"]["raekker"][0] == ["Dage på venteliste", "<3", "<3"]
    for fmt in ("json", "html"):
        assert "354" not in render(report, fmt).decode("utf-8")
    assert "354" not in _pdftotext(render(report, "pdf"))


def test_iba_report_cli_writes_every_format_and_refuses_bad_input(
    seeded_url: str, tmp_path: Path
) -> None:
    import os
    import sys

    if not seeded_url.startswith("sqlite"):
        pytest.skip("the CLI path is the same on both backends; tested once")
    env = {**os.environ, "IBA_DATABASE_URL": seeded_url}
    iba = str(Path(sys.executable).parent / "iba")
    base = [iba, "report", "--intervention", "sunde_kvinder", "--from", "2027-01-01"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], env=env, capture_output=True, text=True)

    done = run("--to", "2027-12-31", "--format", "json")
    assert done.returncode == 0, done.stderr
    tables = json.loads(done.stdout)["tabeller"]
    assert {k: t["raekker"] for k, t in tables.items()} == EXPECTED
    for fmt in ("xlsx", "pdf", "html"):
        target = tmp_path / f"rapport.{fmt}"
        done = run("--to", "2027-12-31", "--format", fmt, "-o", str(target))
        assert done.returncode == 0, done.stderr
        assert target.stat().st_size > 1000
    backwards = run("--to", "2026-12-31", "--format", "json")
    assert backwards.returncode == 1 and "ends before it starts" in backwards.stderr
    binary = run("--to", "2027-12-31", "--format", "pdf")
    assert binary.returncode == 1 and "--output FILE" in binary.stderr
    unknown = run("--to", "2027-12-31", "--format", "docx")
    assert unknown.returncode == 1 and "use html, pdf, xlsx, json" in unknown.stderr
    assert "Traceback" not in backwards.stderr + binary.stderr + unknown.stderr
