"""The ``iba`` commands a coordinator and an editor of definitions use."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import icalendar
from typer.testing import CliRunner

from iba_workflow import paths
from iba_workflow.cli import app

runner = CliRunner()
BROKEN = paths.PROJECT_ROOT / "tests" / "definitions" / "broken"


def test_validate_all_shipped_definitions() -> None:
    result = runner.invoke(app, ["validate", str(paths.PROJECT_ROOT / "definitions")])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 5


def test_validate_lists_every_problem_and_exits_1() -> None:
    result = runner.invoke(
        app,
        [
            "validate",
            str(BROKEN / "many_problems.yaml"),
            str(paths.PROJECT_ROOT / "definitions" / "hop.yaml"),
        ],
    )
    assert result.exit_code == 1
    out = result.output
    assert "many_problems.yaml:18:11: 'kind' in step 'a': unknown kind 'meating'" in out
    assert "many_problems.yaml:26:5: unknown key 'escalate' in step 'b'" in out
    assert "hint: did you mean 'escalation'?" in out
    assert "ok  " in out and "hop.yaml" in out  # the good file is still checked
    assert "Traceback" not in out


def test_plan_table_names_steps_dates_and_shift_reasons() -> None:
    result = runner.invoke(app, ["plan", "fagmentor", "--start", "2027-03-01"])
    assert result.exit_code == 0, result.output
    assert "Opstartsmøde" in result.output and "tor 2027-02-25" in result.output
    assert "Langfredag → onsdag" in result.output
    assert "--branch evaluering=forlaengelse" in result.output  # open branches are offered


def test_plan_json_is_stable_and_machine_readable() -> None:
    args = [
        "plan",
        "de_internationale",
        "--cohort",
        "hold_2027",
        "--branch",
        "optagelsesproeve=ikke_optaget",
        "--format",
        "json",
    ]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    data = json.loads(first.output)
    assert data["definition"]["id"] == "de_internationale"
    assert data["chosen"] == [
        {"step": "optagelsesproeve", "outcome": "ikke_optaget", "decided_on": None}
    ]
    assert any(s["key"] == "praktiksoegning" for s in data["steps"])


def test_plan_ics_imports_as_a_calendar(tmp_path: Path) -> None:
    target = tmp_path / "plan.ics"
    result = runner.invoke(
        app, ["plan", "fagmentor", "--start", "2027-03-01", "--format", "ics", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    cal = icalendar.Calendar.from_ical(target.read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    kickoff = next(e for e in events if "Opstartsmøde" in str(e["SUMMARY"]))
    assert kickoff.decoded("DTSTART").isoformat() == "2027-02-25T10:00:00+01:00"
    assert str(kickoff["LOCATION"]) == "Virksomheden"
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert cal.walk("VTIMEZONE"), "timed events carry their time zone"


def test_plan_by_path_and_errors_without_traceback(tmp_path: Path) -> None:
    by_path = runner.invoke(
        app,
        [
            "plan",
            str(paths.PROJECT_ROOT / "definitions" / "hop.yaml"),
            "--start",
            "2027-03-01",
            "--format",
            "json",
        ],
    )
    assert by_path.exit_code == 0
    unknown = runner.invoke(app, ["plan", "fagmentr", "--start", "2027-03-01"])
    assert unknown.exit_code == 1
    assert "no definition 'fagmentr'" in unknown.output and "fagmentor" in unknown.output
    bad_branch = runner.invoke(
        app, ["plan", "fagmentor", "--start", "2027-03-01", "--branch", "evaluering"]
    )
    assert bad_branch.exit_code == 1 and "STEP=OUTCOME" in bad_branch.output
    too_long = runner.invoke(
        app,
        [
            "plan",
            "hop",
            "--start",
            "2027-03-01",
            "--branch",
            "slutevaluering=forlaengelse",
            "--branch",
            "slutevaluering@2=forlaengelse",
        ],
    )
    assert too_long.exit_code == 1 and "more than the 26 weeks" in too_long.output
    for r in (unknown, bad_branch, too_long):
        assert "Traceback" not in r.output


def test_every_dropped_occurrence_is_listed_with_its_step_in_table_json_and_ics(
    tmp_path: Path,
) -> None:
    # 26 weeks across Christmas, New Year and Easter
    args = ["plan", "hop", "--start", "2026-11-02", "--branch", "slutevaluering=forlaengelse"]
    table = runner.invoke(app, args)
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)
    target = tmp_path / "plan.ics"
    assert runner.invoke(app, [*args, "--format", "ics", "-o", str(target)]).exit_code == 0
    skipped = data["skipped"]
    # Juledag, nytårsdag, langfredag, 2. påskedag: the teaching's dropped days (language
    # school, which dropped more, is on her own days now and has no dates in a bare plan)
    assert len(skipped) >= 4
    assert "…" not in table.output
    cancelled = [
        e
        for e in icalendar.Calendar.from_ical(target.read_bytes()).walk("VEVENT")
        if str(e.get("STATUS")) == "CANCELLED"
    ]
    assert len(cancelled) == len(skipped)
    for sk in skipped:
        line = f"{sk['date']}  {sk['name']} ({sk['step']}): {sk['reason']}"
        assert line in table.output, line
        assert any(
            e.decoded("DTSTART") == dt.date.fromisoformat(sk["date"])
            and sk["name"] in str(e["SUMMARY"])
            and sk["reason"] in str(e["DESCRIPTION"])
            for e in cancelled
        ), sk


def test_validate_walks_every_path_and_warns_without_a_calendar() -> None:
    result = runner.invoke(app, ["validate", str(BROKEN / "no_calendar.yaml")])
    assert result.exit_code == 0, result.output  # a warning, not an error
    assert "warning: municipality 'odder' has no calendar file" in result.output
    assert "paths from 3 starts" in result.output
    never = runner.invoke(app, ["validate", str(BROKEN / "path_never_ends.yaml")])
    assert never.exit_code == 1
    assert "path_never_ends.yaml:24:9: the path ending with outcome 'ikke_optaget'" in (
        never.output
    )


def test_plan_shows_what_the_definition_assumes() -> None:
    table = runner.invoke(app, ["plan", "hop", "--start", "2027-03-01"])
    assert table.exit_code == 0, table.output
    assert "Antagelser, som kilden ikke siger (bekræft):" in table.output
    assert "Ugentlig evaluering med kvinderne: Kilden siger ugentligt" in " ".join(
        table.output.split()
    )
    assert "op til 3" in table.output  # the definition's own assumption (group choice)
    data = json.loads(
        runner.invoke(app, ["plan", "hop", "--start", "2027-03-01", "--format", "json"]).output
    )
    weekly = next(s for s in data["steps"] if s["step_id"] == "ugentlig_evaluering")
    assert weekly["assumption"] and weekly["time"] == "13:00"
    assert any("op til 3" in a for a in data["assumptions"])


def test_a_handover_is_shown_as_an_open_branch() -> None:
    result = runner.invoke(app, ["plan", "sunde_kvinder", "--cohort", "hold_2027_foraar"])
    assert "--branch afsluttende_evaluering=klar_til_praktik" in result.output
    assert "foreslår visitation til 'fagmentor'" in " ".join(result.output.split())


def test_schema_check_and_print() -> None:
    assert runner.invoke(app, ["schema", "--check"]).exit_code == 0
    printed = runner.invoke(app, ["schema"])
    assert json.loads(printed.output)["title"] == "iba-workflow intervention definition"


def test_installed_console_script_runs_preview() -> None:
    iba = shutil.which("iba", path=str(Path(sys.executable).parent))
    assert iba, "the 'iba' console script is installed with the package"
    done = subprocess.run(
        [iba, "preview"], capture_output=True, text=True, timeout=120, cwd=paths.PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr
    for name in (
        "Sunde kvinder",
        "HOP",
        "De internationale",
        "Fagmentor",
        "Motionstilbud til sygemeldte",
    ):
        assert name in done.stdout
