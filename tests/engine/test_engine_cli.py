"""The engine commands as a person types them: a sentence and a hint on bad input,
never a traceback; the plan, its changes and a simulated timeline on good input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from iba_workflow.cli.app import app
from iba_workflow.store.db import MIGRATIONS_DIR

YES = [
    arg
    for criterion in (
        "integrationsperiode_praktik",
        "opkvalificering_gennemfoert",
        "moedestabilitet",
        "virksomhed_oensker_mentor",
    )
    for arg in ("--answer", f"{criterion}=yes")
]


@pytest.fixture
def iba(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Any:
    monkeypatch.setenv("IBA_DATABASE_URL", store_url)
    # The dates below are fixed (2030); the date window is counted from the real today.
    monkeypatch.setenv("IBA_DATE_WINDOW_AHEAD_DAYS", "3650")
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        text = result.output
        assert "Traceback" not in text
        assert (result.exit_code == 0) == ok, text
        return text

    return run


def test_visit_complete_replan_status(iba: Any) -> None:
    # The head of the chain, not the highest file number: merged branches' migrations are
    # re-chained in merge order.
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert iba("db", "upgrade").strip() == f"database at revision {head}"
    iba(
        "staff",
        "add",
        "--name",
        "Anna",
        "--email",
        "anna@x.dk",
        "--role",
        "iba",
        "--role",
        "fagmentor",
    )
    iba("citizen", "add", "B-1")
    out = iba(
        "visit", "fagmentor", "--citizen", "B-1", "--accept", "--start", "2030-03-04", ok=False
    )
    assert "not answered: integrationsperiode_praktik, opkvalificering_gennemfoert" in out
    out = iba("visit", "fagmentor", "--citizen", "B-1", "--accept", "--start", "2030-03-04", *YES)
    assert "enrollment 1, start 2030-03-04" in out and "opstartsmoede" in out
    status = iba("status", "1")
    assert "rekruttering" in status and "planned" in status
    out = iba("replan", "1", "--pause", "2030-04-08..2030-04-12", "--dry-run")
    assert "moved" in out and "nothing written" in out
    assert "planned" in iba("status", "1")
    out = iba("complete", "1")
    assert "step 1 done" in out
    assert "already completed" in iba("complete", "1")
    assert "active" in iba("status")


def test_bad_input_is_a_sentence_and_a_hint(iba: Any) -> None:
    iba("db", "upgrade")
    out = iba("citizen", "add", "0101901234", ok=False)
    assert "looks like a CPR number" in out and "hint:" in out
    out = iba("visit", "fagmentor", "--citizen", "B-010190-1234", "--accept", *YES, ok=False)
    assert "looks like a CPR number" in out
    out = iba("visit", "fagmentor", "--citizen", "B-1", "--reject", "cpr 0101901234", ok=False)
    assert "--reject contains a number that looks like a CPR number" in out
    out = iba("visit", "fagmentor", "--citizen", "nobody", "--accept", ok=False)
    assert "error: no citizen with reference 'nobody'" in out and "hint:" in out
    out = iba("replan", "7", "--pause", "2030-04-12..2030-04-08", ok=False)
    assert "before it starts" in out
    out = iba("replan", "7", "--pause", "someday", ok=False)
    assert "is not FROM..TO" in out
    out = iba("migrate", "fagmentor", "--to-version", "5", ok=False)
    assert "is version 2, not 5" in out


def test_simulate_prints_a_timeline_without_personal_data(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "outcomes: {evaluering: forlaengelse, 'evaluering@2': loennede_timer}\n"
        "pauses: [{from: 2027-04-05, to: 2027-04-09}]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["simulate", "fagmentor", "--start", "2027-03-01", "--script", str(script)]
    )
    assert result.exit_code == 0, result.output
    assert "completed evaluering → forlaengelse" in result.output
    assert "completed evaluering@2 → loennede_timer" in result.output
    assert "replanned pause" in result.output
    assert "mail meeting_invitation" in result.output
    bad = CliRunner().invoke(
        app,
        [
            "simulate",
            "fagmentor",
            "--start",
            "2027-03-01",
            "--script",
            str(tmp_path / "missing.yaml"),
        ],
    )
    assert bad.exit_code == 1 and "cannot read the script" in bad.output


def test_simulate_script_with_a_pause_for_one_participant(tmp_path: Path) -> None:
    """Used to end in AttributeError: 'dict' object has no attribute 'first'."""
    script = tmp_path / "script.yaml"
    script.write_text(
        "participants: 2\n"
        "outcomes: {evaluering: loennede_timer}\n"
        "per_participant:\n"
        "  2:\n"
        "    pauses: [{from: 2027-04-05, to: 2027-04-09}]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["simulate", "fagmentor", "--start", "2027-03-01", "--script", str(script)]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    paused = [line for line in result.output.splitlines() if "replanned pause" in line]
    assert len(paused) == 1 and "-002" in paused[0]  # only participant 2 is ill


def test_the_weekly_absence_list_records_one_row_per_day(iba: Any, store_url: str) -> None:
    """`iba complete` on a list of kind attendance names the absent days; every day of the
    list's week becomes an attendance row, and a day not on the list is refused."""
    from sqlmodel import Session, create_engine, select

    from iba_workflow.reports.readmodel import read_model
    from iba_workflow.reports.tables import build_tables
    from iba_workflow.store.tables import AttendanceRow, CompletionRow, StepInstanceRow

    iba("db", "upgrade")
    for role in ("iba", "sprogcenter"):
        iba("staff", "add", "--name", role, "--email", f"{role}@x.dk", "--role", role)
    iba("citizen", "add", "B-1")
    answers = [
        arg
        for c in ("flygtning_25_50", "danskuddannelse_modul", "moedestabilitet", "motivation")
        for arg in ("--answer", f"{c}=yes")
    ]
    iba("visit", "hop", "--citizen", "B-1", "--accept", "--start", "2030-03-04", *answers)
    engine = create_engine(store_url)
    with Session(engine) as s:
        lists = s.exec(
            select(StepInstanceRow)
            .where(StepInstanceRow.step_id == "fravaersskema")
            .order_by(StepInstanceRow.due_date)
        ).all()
    first = lists[0]
    assert first.due_date.isoformat() == "2030-03-08"  # Friday of the first week
    out = iba("complete", str(first.id), "--data", "absent_on=2030-03-11", ok=False)
    assert "not a day of this absence list" in out and "2030-03-04" in out and "hint:" in out
    out = iba("complete", str(first.id), "--data", "absent_days=2", ok=False)
    assert "name the days" in out and "absent_on=" in out
    iba("complete", str(first.id), "--data", "absent_on=2030-03-05,2030-03-06")
    with Session(engine) as s:
        rows = s.exec(select(AttendanceRow).order_by(AttendanceRow.day)).all()
        done = s.exec(select(CompletionRow)).one()
    assert [(r.day.isoformat(), r.present) for r in rows] == [
        ("2030-03-04", True),
        ("2030-03-05", False),
        ("2030-03-06", False),
        ("2030-03-07", True),
        ("2030-03-08", True),
    ]
    assert done.data == {"absent_on": ["2030-03-05", "2030-03-06"], "absent_days": 2}
    # The report's attendance rate comes from those rows: 3 of 5 days.
    with Session(engine) as s:
        model = read_model(s, "hop", dt.date(2020, 1, 1), dt.date(2030, 3, 31))
    fremmoede = next(t for t in build_tables(model, threshold=1) if t.key == "fremmoede")
    assert fremmoede.rows[-1] == ["I alt", 5, 3, 60.0]
    assert "already completed" in iba(
        "complete", str(first.id), "--data", "absent_on=2030-03-05,2030-03-06"
    )
