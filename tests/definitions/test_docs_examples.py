"""Every example in docs/definitions.md is checked here, so the reference cannot drift.

The doc's fenced blocks follow a small grammar:

- a ```yaml block whose first non-comment line starts with ``id:`` is a whole definition;
- a ```yaml block whose first line is ``# snippet: KIND`` is a part, embedded in a skeleton:
  ``top`` (top-level keys; each replaces the skeleton's key of that name), ``steps`` (list
  items under ``steps:``, replacing the skeleton's one step) or ``calendar`` (a
  ``calendars/<municipality>.yaml`` file);
- ``# snippet: broken KIND | message`` is an example that must be rejected (KIND is
  ``definition``, ``top``, ``steps`` or ``calendar``), with that text in one of its problems;
- a ```text block whose first line is ``# plan: ...`` lists dates that planning the
  yaml block just above it must produce (see :func:`_check_plan_block`);
- a ```text block of ``iba validate`` output on ``tests/definitions/broken/*.yaml`` must
  match what validating those fixtures prints today.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from iba_workflow import paths
from iba_workflow.calendar import MunicipalityCalendar, calendar_for
from iba_workflow.definition import Definition, content_hash, load_definition, parse_definition
from iba_workflow.errors import DefinitionError, PlanError
from iba_workflow.planning import ChosenOutcome, Plan, PlanOverrides, plan_enrollment
from iba_workflow.planning.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "definitions.md"
TEMPLATES = paths.known_templates(ROOT / "templates")
CALENDARS = ROOT / "calendars"

# The skeleton a snippet is embedded in: every top-level key on its own line, so that a
# ``top`` snippet can replace any of them.
SKELETON: dict[str, str] = {
    "id": "id: doc_eksempel",
    "name": "name: Eksempel fra docs/definitions.md",
    "version": "version: 1",
    "municipality": "municipality: hedensted",
    "description": "description: Skelet, som dokumentationens uddrag indsættes i.",
    "seed": "seed: 004_87f4e52cd9262117.txt",
    "hours_per_week": "hours_per_week: 6",
    "duration": "duration: {weeks: 13, extendable_to_weeks: 26}",
    "capacity": "capacity: 6",
    "intake": "intake: {kind: rolling, lead: {weeks: 2}}",
    "roles": """roles:
  - {id: iba, name: IBA}
  - {id: kontaktperson, name: Kontaktperson}
  - {id: virksomhedskonsulent, name: Virksomhedskonsulent}
  - {id: beskaeftigelsesraadgiver, name: Beskæftigelsesrådgiver}
  - {id: fagmentor, name: Fagmentor}
  - {id: fysioterapeut, name: Fysioterapeut}
  - {id: matematikunderviser, name: Matematikunderviser}
  - {id: leder, name: Leder af virksomheden, external: true}
  - {id: sprogcenter, name: Sprogcenter Midt, external: true}
  - {id: diaetist, name: Diætist, external: true}
  - {id: vuc, name: VUC, external: true}""",
    "steps": """steps:
  - {id: skelet_opgave, kind: task, name: Skeletopgave, assignee: iba, when: {anchor: start}}""",
}

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
MARKER = re.compile(r"^#\s*snippet:\s*(broken\s+)?(\w+)\s*(?:\|\s*(.+?))?\s*$")
KINDS = {"top", "steps", "calendar", "definition"}


@dataclass
class Block:
    number: int  # 1-based among all fenced blocks
    line: int  # where the fence opens in the doc
    lang: str
    text: str

    @property
    def first(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def label(self) -> str:
        return f"docs/definitions.md:{self.line}"


def _blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for i, m in enumerate(FENCE.finditer(text), start=1):
        line = text.count("\n", 0, m.start()) + 1
        out.append(Block(i, line, m.group(1), m.group(2)))
    return out


BLOCKS = _blocks()
YAML_BLOCKS = [b for b in BLOCKS if b.lang == "yaml"]


def _kind(block: Block) -> tuple[bool, str, str | None]:
    """(broken?, kind, expected message) of a yaml block."""
    m = MARKER.match(block.first)
    if m:
        kind = m.group(2)
        assert kind in KINDS, f"{block.label}: unknown snippet kind {kind!r}"
        return bool(m.group(1)), kind, m.group(3)
    body = [ln for ln in block.text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert body and body[0].startswith("id:"), (
        f"{block.label}: a yaml example must start with 'id:' (a whole definition) or with "
        "a '# snippet: KIND' line"
    )
    return False, "definition", None


def _top_keys(text: str) -> list[str]:
    data = YAML(typ="safe", pure=True).load(text)
    assert isinstance(data, dict), "a top snippet is a mapping of top-level keys"
    return list(data)


def _definition_text(block: Block) -> str:
    _, kind, _ = _kind(block)
    if kind == "definition":
        return block.text
    if kind == "top":
        given = _top_keys(block.text)
        kept = [v for k, v in SKELETON.items() if k not in given]
        return "\n".join(kept) + "\n" + block.text
    if kind == "steps":
        kept = [v for k, v in SKELETON.items() if k != "steps"]
        indented = "".join(f"  {ln}\n" if ln.strip() else "\n" for ln in block.text.splitlines())
        return "\n".join(kept) + "\nsteps:\n" + indented
    raise AssertionError(f"{block.label}: a {kind} block is not a definition")


def _load(block: Block) -> Definition:
    return parse_definition(_definition_text(block), file=block.label, known_templates=TEMPLATES)


# --------------------------------------------------------------------------- the examples


def test_the_doc_has_an_example_for_every_construct() -> None:
    kinds = [_kind(b) for b in YAML_BLOCKS]
    assert len(YAML_BLOCKS) >= 30
    assert sum(1 for broken, _, _ in kinds if broken) >= 3
    assert {k for _, k, _ in kinds} == KINDS
    text = "\n".join(b.text for b in YAML_BLOCKS)
    for construct in (
        "kind: meeting",
        "kind: task",
        "kind: session",
        "kind: measurement",
        "kind: test",
        "kind: evaluation",
        "kind: cohort",
        "kind: rolling",
        "min_weeks:",
        "extendable_to_weeks:",
        "eligibility:",
        "change_tracks:",
        "external: true",
        "defaults:",
        "anchor: visitation",
        "anchor: midway",
        "anchor: step.",
        "anchor: completion.",
        "working_days:",
        "shift: previous",
        "shift: nearest",
        "every_weeks:",
        "count:",
        "on_closed_day: skip",
        "on_closed_day: next",
        "depends_on:",
        "only_after:",
        "ends: true",
        "replan:",
        "stops:",
        "reminders:",
        "escalation:",
        "template:",
        "health: true",
        "easter_offset:",
        "date:",
    ):
        assert construct in text, f"no example uses {construct!r}"


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: f"line{b.line}")
def test_yaml_example(block: Block) -> None:
    broken, kind, expected = _kind(block)
    if kind == "calendar":
        data = YAML(typ="safe", pure=True).load(block.text)
        if broken:
            with pytest.raises(ValueError) as caught:
                MunicipalityCalendar.model_validate(data)
            assert expected is None or expected in str(caught.value)
        else:
            MunicipalityCalendar.model_validate(data)
        return
    if not broken:
        try:
            _load(block)
        except DefinitionError as exc:
            pytest.fail(f"{block.label}: example does not validate:\n{exc.render()}")
        return
    with pytest.raises(DefinitionError) as caught:
        _load(block)
    messages = [p.message for p in caught.value.problems]
    assert expected is not None, f"{block.label}: say which error a broken example shows"
    assert any(expected in m for m in messages), (
        f"{block.label}: expected {expected!r}, got:\n{caught.value.render()}"
    )


def test_whole_definitions_in_the_doc_name_their_file_by_id() -> None:
    for block in YAML_BLOCKS:
        if _kind(block) == (False, "definition", None):
            d = _load(block)
            assert re.fullmatch(r"[a-z][a-z0-9_]*", d.id)


# --------------------------------------------------------------------------- plans

PLAN_LINE = re.compile(
    r"^(?P<key>\S+)\s+(?P<date>\d{4}-\d\d-\d\d)(?:\s+(?P<wd>man|tir|ons|tor|fre|lør|søn))?"
    r"(?:\s+(?P<what>flyttet|aflyst|venter|til):\s+(?P<reason>.+?))?\s*$"
)
WEEKDAYS = ("man", "tir", "ons", "tor", "fre", "lør", "søn")


def _plans() -> list[tuple[Block, Block]]:
    """(text block with '# plan:', the nearest yaml block above it)."""
    out = []
    for i, block in enumerate(BLOCKS):
        if block.lang == "text" and block.first.startswith("# plan:"):
            above = [b for b in BLOCKS[:i] if b.lang == "yaml"]
            assert above, f"{block.label}: a plan block needs a yaml example above it"
            out.append((block, above[-1]))
    return out


def _make_plan(header: str, d: Definition) -> Plan:
    start = cohort = weeks = None
    branches = []
    days: dict[str, list[str]] = {}  # her own days: days=sprogskole:mon,wed
    for token in header.removeprefix("# plan:").split():
        name, value = token.split("=", 1)
        if name == "start":
            start = dt.date.fromisoformat(value)
        elif name == "cohort":
            cohort = value
        elif name == "weeks":
            weeks = int(value)
        elif name == "days":
            step, _, weekdays = value.partition(":")
            days[step] = weekdays.split(",")
        elif name == "branch":
            key, outcome = value.split("=", 1)
            branches.append(ChosenOutcome(key, outcome))
        else:
            raise AssertionError(f"unknown plan option {name!r}")
    return plan_enrollment(
        d,
        calendar=calendar_for(d.municipality, CALENDARS),
        start=start,
        cohort=cohort,
        overrides=PlanOverrides(duration_weeks=weeks, weekdays=days),
        outcomes=branches,
    )


def _check_plan_block(block: Block, plan: Plan) -> int:
    """Each line: ``KEY DATE [WEEKDAY] [flyttet|aflyst|venter|til: TEXT]``.

    KEY is a step key (``opstartsmoede``, ``sprogskole#3``, ``evaluering@2``), a period date
    (``visitation``, ``start``, ``midway``, ``end``, ``start@2``, ``end@2``), or
    ``KEY/reminder`` / ``KEY/escalation`` (``til: ROLE``). ``flyttet: REASON`` is the shift
    reason, ``venter: NAME`` a wait for a dependency, ``aflyst: REASON`` a skipped occurrence;
    a step line without either asserts the step was not moved.
    ``slut`` checks the plan's end. Lines starting with ``#`` or ``…`` are ignored.
    """
    checked = 0
    for raw in block.text.splitlines()[1:]:
        line = raw.strip()
        if not line or line.startswith(("#", "…")):
            continue
        m = PLAN_LINE.match(line)
        assert m, f"{block.label}: cannot read plan line {line!r}"
        key, date = m["key"], dt.date.fromisoformat(m["date"])
        if m["wd"]:
            assert WEEKDAYS[date.weekday()] == m["wd"], f"{line!r}: wrong weekday"
        where = f"{block.label}: {line!r}"
        base, _, period = key.partition("@")
        if base in ("visitation", "start", "midway", "end", "slut"):
            if base == "visitation":
                actual = plan.visitation
            elif base == "slut":
                actual = plan.end
            else:
                actual = getattr(plan.periods[int(period or 1) - 1], base)
            assert actual == date, f"{where}: plan says {actual}"
        elif key.endswith("/reminder"):
            step = plan.get(key.removesuffix("/reminder"))
            assert date in step.reminders, f"{where}: reminders are {step.reminders}"
        elif key.endswith("/escalation"):
            step = plan.get(key.removesuffix("/escalation"))
            assert step.escalation is not None, f"{where}: no escalation"
            assert step.escalation[0] == date, f"{where}: escalation is {step.escalation}"
            if m["what"] == "til":
                assert step.escalation[1] == m["reason"], f"{where}: told {step.escalation[1]}"
        elif m["what"] == "aflyst":
            found = [s for s in plan.skipped if s.step_key == key]
            assert found, f"{where}: not skipped; skipped are {plan.skipped}"
            assert found[0].date == date, f"{where}: skipped on {found[0].date}"
            assert found[0].reason == m["reason"], f"{where}: reason {found[0].reason!r}"
        else:
            assert key in plan, f"{where}: no such step; plan has {[s.key for s in plan.steps]}"
            step = plan.get(key)
            assert step.date == date, f"{where}: plan says {step.date}"
            if m["what"] == "flyttet":
                assert step.shift_reason == m["reason"], f"{where}: reason {step.shift_reason!r}"
            elif m["what"] == "venter":
                assert step.shift_reason == f"venter på {m['reason']}", (
                    f"{where}: reason {step.shift_reason!r}"
                )
            else:
                assert step.shift_reason is None, f"{where}: moved ({step.shift_reason})"
        checked += 1
    return checked


PLANS = _plans()


def test_the_doc_shows_planned_dates() -> None:
    assert len(PLANS) >= 6


@pytest.mark.parametrize(("block", "source"), PLANS, ids=lambda b: f"line{b.line}")
def test_plan_example(block: Block, source: Block) -> None:
    plan = _make_plan(block.first, _load(source))
    assert _check_plan_block(block, plan) > 0


# --------------------------------------------------------------------------- error output


def _validate_output(path: Path) -> str:
    report = validate_file(path, calendars_dir=CALENDARS, known_templates=None)
    assert report.problems, f"{path} validates without a problem"
    return "\n".join(p.render() for p in report.problems)


def test_error_output_in_the_doc_is_what_validate_prints() -> None:
    shown = 0
    for block in BLOCKS:
        if block.lang != "text" or "tests/definitions/broken/" not in block.text:
            continue
        for line in block.text.splitlines():
            m = re.match(r"^(tests/definitions/broken/\S+?\.yaml):\d", line)
            if m is None:
                continue
            rendered = _validate_output(ROOT / m.group(1)).replace(str(ROOT) + "/", "")
            assert line in rendered.splitlines(), f"{block.label}: {line!r} not in:\n{rendered}"
            shown += 1
        hints = [ln.strip() for ln in block.text.splitlines() if ln.strip().startswith("hint:")]
        all_rendered = "\n".join(
            _validate_output(ROOT / f)
            for f in set(re.findall(r"tests/definitions/broken/\S+?\.yaml", block.text))
        )
        for hint in hints:
            assert hint in all_rendered, f"{block.label}: {hint!r} is not printed"
    assert shown >= 3


# --------------------------------------------------------------------------- claims in prose


def test_content_hash_ignores_formatting_and_written_out_defaults() -> None:
    path = ROOT / "definitions" / "fagmentor.yaml"
    original = load_definition(path, known_templates=TEMPLATES)
    text = path.read_text(encoding="utf-8")
    reformatted = "# en kommentar mere\n" + text.replace(
        "when: {anchor: visitation, offset: {working_days: 5}}",
        "when:\n      anchor: visitation\n      offset: {working_days: 5}\n      shift: next",
    )
    assert reformatted != text
    assert content_hash(parse_definition(reformatted)) == content_hash(original)
    changed = text.replace("offset: {working_days: 5}", "offset: {working_days: 6}")
    assert content_hash(parse_definition(changed)) != content_hash(original)


def test_a_second_extension_beyond_the_limit_is_refused_as_the_doc_says() -> None:
    source = next(src for b, src in PLANS if "branch=slutevaluering=forlaengelse" in b.first)
    d = _load(source)
    header = "# plan: start=2027-03-01 branch=slutevaluering=forlaengelse"
    with pytest.raises(PlanError, match="makes 39 weeks, more than the 26 weeks"):
        _make_plan(header + " branch=slutevaluering@2=forlaengelse", d)
    with pytest.raises(PlanError, match="rolling intake"):
        plan_enrollment(d, calendar=calendar_for(d.municipality, CALENDARS), cohort="hold_2027")


def test_shipped_definitions_carry_the_schema_line_the_doc_describes() -> None:
    for path in sorted((ROOT / "definitions").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./schema.json", path.name
        assert load_definition(path, known_templates=TEMPLATES).id == path.stem
