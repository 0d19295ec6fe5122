"""Law rules as checks: the shipped definitions keep every rule; a definition that breaks
one fails `iba validate` with the paragraph named, and `iba plan` warns above the plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import Definition, load_definition
from iba_workflow.privacy.law_rules import RULES_FILE, check_law_rules


def _load(name: str) -> Definition:
    return load_definition(
        paths.definitions_dir() / f"{name}.yaml", known_templates=paths.known_templates()
    )


def _changed(name: str, change: Any) -> Definition:
    body = _load(name).model_dump(mode="json", exclude_none=True)
    change(body)
    return Definition.model_validate(body)


def _paragraphs(d: Definition, path: Path = RULES_FILE) -> list[str]:
    cal = calendar_for(d.municipality, paths.calendars_dir())
    return [f.paragraph for f in check_law_rules(d, calendar=cal, path=path)]


@pytest.mark.parametrize("path", iter_definition_files(paths.definitions_dir()), ids=str)
def test_shipped_definitions_keep_every_rule(path: Path) -> None:
    d = load_definition(path, known_templates=paths.known_templates())
    assert _paragraphs(d) == []


def _longer_internship(body: dict[str, Any]) -> None:
    body["duration"]["weeks"] = 20


def _longer_extension(body: dict[str, Any]) -> None:
    body["duration"]["extendable_to_weeks"] = 39


def _more_hours(body: dict[str, Any]) -> None:
    body["hours_per_week"] = 20


def _weight_without_consent(body: dict[str, Any]) -> None:
    step = next(s for s in body["steps"] if s["id"] == "kostsamtale")
    step["dimensions"][0]["health"] = False


@pytest.mark.parametrize(
    ("name", "change", "paragraph", "words"),
    [
        ("hop", _longer_internship, "LAB § 61", "20 uger"),
        ("fagmentor", _longer_extension, "LAB § 61", "39 uger"),
        ("motion_sygemeldte", _more_hours, "Sygedagpengeloven § 15 og § 15 a", "20 timer"),
        ("sunde_kvinder", _weight_without_consent, "Sundhedsloven § 15", "kostsamtale.vaegt"),
    ],
)
def test_a_broken_definition_names_the_paragraph(
    name: str, change: Any, paragraph: str, words: str
) -> None:
    d = _changed(name, change)
    cal = calendar_for(d.municipality, paths.calendars_dir())
    findings = check_law_rules(d, calendar=cal)
    # a longer internship also needs more follow-up talks (pro rata), so other rules may
    # speak too; the one broken on purpose must
    (finding, *_) = [f for f in findings if f.paragraph == paragraph]
    assert words in finding.message and finding.fix
    assert finding.render().startswith(f"advarsel [{paragraph}]")


def test_follow_up_conversations_are_configured_per_municipality(tmp_path: Path) -> None:
    stricter = RULES_FILE.read_text(encoding="utf-8").replace(
        "min_conversations: 4", "min_conversations: 6"
    )
    path = tmp_path / "law_rules.yaml"
    path.write_text(stricter, encoding="utf-8")
    fagmentor = _load("fagmentor")  # 4 in 26 weeks pro rata: 2 in 13; 6 in 26 would need 3
    assert _paragraphs(fagmentor) == []
    assert _paragraphs(fagmentor, path) == ["Integrationsloven § 20"]


def _iba(*args: str) -> subprocess.CompletedProcess[str]:
    iba = str(Path(sys.executable).parent / "iba")
    return subprocess.run(
        [iba, *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def test_iba_validate_fails_and_iba_plan_warns(tmp_path: Path) -> None:
    source = (paths.definitions_dir() / "hop.yaml").read_text(encoding="utf-8")
    assert "\n  weeks: 13\n" in source
    broken = tmp_path / "hop.yaml"
    broken.write_text(source.replace("\n  weeks: 13\n", "\n  weeks: 20\n"), encoding="utf-8")
    validated = _iba("validate", str(broken))
    assert validated.returncode == 1
    assert (
        "advarsel [LAB § 61]" in validated.stderr and "ret: sæt duration.weeks" in validated.stderr
    )
    planned = _iba("plan", str(broken), "--start", "2027-03-01")
    assert planned.returncode == 0, planned.stderr
    assert "advarsel [LAB § 61]" in planned.stderr
    assert "slutevaluering" in planned.stdout  # the plan itself is still shown
    assert _iba("validate").returncode == 0
