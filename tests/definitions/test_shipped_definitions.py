"""The five shipped definitions: valid, faithful to their seed in the facts we can check."""

from __future__ import annotations

from pathlib import Path

import pytest

from iba_workflow import paths
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import Definition, content_hash, load_definition
from iba_workflow.definition.model import CohortIntake, HoursRange

FILES = iter_definition_files(paths.PROJECT_ROOT / "definitions")


def _load(stem: str) -> Definition:
    return load_definition(
        paths.PROJECT_ROOT / "definitions" / f"{stem}.yaml",
        known_templates=paths.known_templates(paths.PROJECT_ROOT / "templates"),
    )


def test_five_interventions_are_shipped() -> None:
    assert {p.stem for p in FILES} == {
        "sunde_kvinder",
        "hop",
        "de_internationale",
        "fagmentor",
        "motion_sygemeldte",
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_definition_is_valid_and_named_after_its_file(path: Path) -> None:
    d = load_definition(
        path, known_templates=paths.known_templates(paths.PROJECT_ROOT / "templates")
    )
    assert d.id == path.stem
    assert d.seed.endswith(".txt")
    assert all(s.template for s in d.steps), "every step names its notification template"
    assert all(s.seed_ref for s in d.steps), "every step points at the seed activity it models"


def test_seed_facts_sunde_kvinder() -> None:
    d = _load("sunde_kvinder")
    assert d.hours_per_week == 3
    assert (d.duration.min_weeks, d.duration.max_weeks) == (9, 12)
    assert (d.min_participants, d.capacity) == (3, 4)
    assert isinstance(d.intake, CohortIntake)
    weighing = d.step("kostsamtale")
    assert weighing.repeat is not None and weighing.repeat.count == 3  # "3 samtaler pr. deltager"
    assert weighing.requires_consent, "weighing is health data: consent needed"
    assert not any(o.id.startswith("vaegt") for s in d.steps for o in s.outcomes_list), (
        "no outcome may depend on weight loss (seed 003, section 5)"
    )


def test_seed_facts_hop() -> None:
    d = _load("hop")
    assert d.hours_per_week == 25 and d.capacity == 15
    assert (d.duration.weeks, d.duration.extendable_to_weeks) == (13, 26)
    assert d.intake.kind == "rolling"
    assert d.step("fravaersskema").assignee == "sprogcenter"
    assert d.role("sprogcenter").external
    assert d.step("ugentlig_evaluering").repeat is not None
    assert {o.id for o in d.step("praktiksamtale").outcomes_list} == {"udvalgt", "ikke_udvalgt"}


def test_seed_facts_de_internationale() -> None:
    d = _load("de_internationale")
    assert d.duration.weeks == 22 and d.capacity == 5 and d.intake.kind == "cohort"
    test = d.step("optagelsesproeve")
    assert test.kind == "test"
    assert {o.id for o in test.outcomes_list} == {"optaget", "ikke_optaget"}
    assert d.step("fastholdelse_vuc").only_after.outcome == "optaget"  # type: ignore[union-attr]
    assert d.step("praktiksoegning").only_after.outcome == "ikke_optaget"  # type: ignore[union-attr]


def test_seed_facts_fagmentor() -> None:
    d = _load("fagmentor")
    assert isinstance(d.hours_per_week, HoursRange)
    assert (d.hours_per_week.min, d.hours_per_week.max) == (2, 6)
    assert d.duration.weeks == 13 and d.capacity == 6 and d.intake.kind == "rolling"
    kickoff = d.step("opstartsmoede")
    assert set(kickoff.attendee_roles) == {"leder", "virksomhedskonsulent", "iba", "fagmentor"}
    assert {o.id for o in d.step("evaluering").outcomes_list} == {
        "loennede_timer",
        "forlaengelse",
        "anden_aktivitet",
    }


def test_seed_facts_rebild_motion_offer() -> None:
    d = _load("motion_sygemeldte")
    assert d.hours_per_week == 10 and d.duration.weeks == 6
    assert d.municipality == "rebild"
    outcomes = {o.id: o for o in d.step("slutvurdering").outcomes_list}
    assert outcomes["raskmeldt"].ends
    assert outcomes["fortsat_sygemeldt"].extend is not None
    assert outcomes["fortsat_sygemeldt"].extend.weeks == 6
    assert any(c.health for c in d.eligibility), "the screening answer is health data"


def test_content_hash_ignores_formatting_but_not_meaning() -> None:
    text = (paths.PROJECT_ROOT / "definitions" / "fagmentor.yaml").read_text(encoding="utf-8")
    from iba_workflow.definition import parse_definition

    a = parse_definition(text)
    b = parse_definition("# a new comment\n" + text.replace("capacity: 6", "capacity:    6"))
    c = parse_definition(text.replace("capacity: 6", "capacity: 7"))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(c)
