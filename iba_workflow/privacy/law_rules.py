"""Law rules as checks on a definition, configured per municipality (``law_rules.yaml``).

Each finding names its paragraph, says what is wrong and how to fix it. They are warnings
for a plan (``iba plan`` prints them above the plan) and make ``iba validate`` fail. The
paragraphs must be verified by the municipality against the current consolidated acts
(see the data file and docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.definition import Definition
from iba_workflow.definition.model import CohortIntake, HoursRange, MeasurementStep

RULES_FILE = Path(__file__).with_name("law_rules.yaml")
CONVERSATION_KINDS = ("meeting", "evaluation")


@dataclass(frozen=True)
class LawFinding:
    rule: str
    paragraph: str
    message: str
    fix: str

    def render(self) -> str:
        return f"advarsel [{self.paragraph}] {self.message}\n  ret: {self.fix}"


@cache
def _load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return dict(data)


def rules_for(municipality: str, path: Path = RULES_FILE) -> dict[str, dict[str, Any]]:
    data = _load(path)
    found = data.get("municipalities", {}).get(municipality)
    return dict(found if found is not None else data.get("defaults", {}))


def _applies(rule: dict[str, Any], d: Definition) -> bool:
    words = [w.lower() for w in rule.get("name_contains", [])]
    return d.id in rule.get("applies_to", []) or any(w in d.name.lower() for w in words)


def rules_file(configured: Path | None = None) -> Path:
    """The municipality's rules file (setting ``IBA_LAW_RULES_FILE``), else the shipped one."""
    if configured is None:
        from iba_workflow.settings import Settings

        configured = Settings().law_rules_file
    if configured is None:
        return RULES_FILE
    path = Path(configured)
    if not path.is_file():
        from iba_workflow.errors import InvalidInput

        raise InvalidInput(
            f"the law rules file {path} does not exist",
            hint="set IBA_LAW_RULES_FILE to a YAML file shaped like the shipped "
            "law_rules.yaml, or unset it to use the shipped rules",
        )
    return path


def check_law_rules(
    d: Definition, *, calendar: WorkingCalendar | None = None, path: Path | None = None
) -> list[LawFinding]:
    """Every configured rule that ``d`` breaks, for its municipality."""
    rules = rules_for(d.municipality, rules_file(path))
    findings: list[LawFinding] = []
    if "internship" in rules and _applies(rules["internship"], d):
        findings += _internship(d, rules["internship"])
    if "follow_up" in rules and _applies(rules["follow_up"], d) and calendar is not None:
        findings += _follow_up(d, rules["follow_up"], calendar)
    if "part_time_sick" in rules and _applies(rules["part_time_sick"], d):
        findings += _part_time_sick(d, rules["part_time_sick"])
    if "health_consent" in rules:
        findings += _health_consent(d, rules["health_consent"])
    return findings


def _weeks(d: Definition) -> tuple[int, int]:
    dur = d.duration
    base = dur.weeks or dur.max_weeks or dur.default_weeks or 0
    extra = sum(o.extend.weeks for s in d.steps for o in s.outcomes_list if o.extend is not None)
    return base, max(dur.extendable_to_weeks or base, base + extra)


def _internship(d: Definition, rule: dict[str, Any]) -> list[LawFinding]:
    base, total = _weeks(d)
    found = []
    if base > rule["max_weeks"]:
        found.append(
            LawFinding(
                "internship",
                rule["paragraph"],
                f"'{d.id}': praktikken varer {base} uger; højst {rule['max_weeks']} uger ad gangen",
                f"sæt duration.weeks til højst {rule['max_weeks']} og brug en forlængelse",
            )
        )
    if total > rule["max_weeks_with_extension"]:
        found.append(
            LawFinding(
                "internship",
                rule["paragraph"],
                f"'{d.id}': med forlængelse kan praktikken vare {total} uger; "
                f"højst {rule['max_weeks_with_extension']} uger i alt",
                "sænk duration.extendable_to_weeks eller forlængelsens uger (outcomes: extend)",
            )
        )
    return found


def _follow_up(d: Definition, rule: dict[str, Any], calendar: WorkingCalendar) -> list[LawFinding]:
    from iba_workflow.errors import IbaError
    from iba_workflow.planning import plan_enrollment

    cohorts = d.intake.cohorts if isinstance(d.intake, CohortIntake) else []
    cohort = cohorts[0].id if cohorts else None
    start = None if cohort else dt.date(2027, 3, 1)
    try:
        plan = plan_enrollment(d, calendar=calendar, start=start, cohort=cohort)
    except IbaError:
        return []  # an unplannable definition is the validator's to report
    dates = [s.date for s in plan.steps]
    if not dates:
        return []
    first, last = min(dates), max(dates)
    within = int(rule["within_weeks"])
    weeks = min(within, max(1, -(-((last - first).days + 1) // 7)))  # weeks the plan covers
    needed = int(rule["min_conversations"])
    if rule.get("pro_rata"):  # the intervention's share of the act's period
        needed = -(-needed * weeks // within)
    until = first + dt.timedelta(weeks=weeks)
    talks = [
        s
        for s in plan.steps
        if s.date < until
        and s.branch is None
        and ((s.kind in CONVERSATION_KINDS and s.citizen_attends) or "samtale" in s.name.lower())
    ]
    if len(talks) >= needed:
        return []
    share = (
        f" ({rule['min_conversations']} på {within} uger, forholdsmæssigt)"
        if rule.get("pro_rata") and weeks < within
        else ""
    )
    return [
        LawFinding(
            "follow_up",
            rule["paragraph"],
            f"'{d.id}': {len(talks)} samtale(r) med borgeren i forløbets første {weeks} uger; "
            f"mindst {needed} kræves{share}",
            "tilføj en opfølgningssamtale (kind: meeting eller evaluation med borgeren)",
        )
    ]


def _part_time_sick(d: Definition, rule: dict[str, Any]) -> list[LawFinding]:
    hours = d.hours_per_week.max if isinstance(d.hours_per_week, HoursRange) else d.hours_per_week
    if hours <= rule["max_hours_per_week"]:
        return []
    return [
        LawFinding(
            "part_time_sick",
            rule["paragraph"],
            f"'{d.id}': {hours:g} timer om ugen; en delvist sygemeldt borger må højst have "
            f"{rule['max_hours_per_week']} timer i kommunens opsætning",
            f"sæt hours_per_week til højst {rule['max_hours_per_week']}",
        )
    ]


def _health_consent(d: Definition, rule: dict[str, Any]) -> list[LawFinding]:
    words = [w.lower() for w in rule.get("words", [])]
    units = [u.lower() for u in rule.get("units", [])]

    def healthy(text: str) -> bool:
        return any(w in text.lower() for w in words)

    found = []
    for c in d.eligibility:
        if not c.health and healthy(c.text):
            found.append((f"kriteriet '{c.id}'", f"eligibility '{c.id}'"))
    for s in d.steps:
        if isinstance(s, MeasurementStep):
            for dim in s.dimensions:
                unit = (dim.unit or "").lower()
                if not dim.health and (healthy(dim.name) or unit in units):
                    found.append((f"målingen '{s.id}.{dim.id}'", f"dimensionen '{dim.id}'"))
    return [
        LawFinding(
            "health_consent",
            rule["paragraph"],
            f"'{d.id}': {what} handler om helbred, men er ikke markeret health: true, så "
            "den kan registreres uden borgerens samtykke",
            f"sæt health: true på {where}",
        )
        for what, where in found
    ]
