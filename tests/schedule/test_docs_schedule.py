"""Every example in docs/schedule.md is checked here: a ``# problem`` block is solved and
must give its ``# result`` block exactly; a ``# shape`` block is a valid week shape; an
``# ics`` block imports as its ``# commitments`` block. The shipped week shapes load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.definition import load_definition
from iba_workflow.schedule.icalendar_io import commitments_from_ics
from iba_workflow.schedule.problem_file import describe_solution, problem_from_data
from iba_workflow.schedule.shapes import WeekShape, load_shape, schedules_dir
from iba_workflow.schedule.solver import solve

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "schedule.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC, re.S)


def _tagged(tag: str) -> list[tuple[int, str]]:
    return [(i, body) for i, (_, body) in enumerate(BLOCKS) if body.startswith(f"# {tag}\n")]


def _next(i: int, tag: str) -> str:
    _lang, body = BLOCKS[i + 1]
    assert body.startswith(f"# {tag}\n"), f"block {i + 1} should be '# {tag}'"
    return body.split("\n", 1)[1]


def test_the_doc_has_examples_of_every_kind() -> None:
    assert _tagged("problem") and _tagged("shape") and _tagged("ics")


@pytest.mark.parametrize("index,body", _tagged("problem"))
def test_problem_examples_give_the_documented_result(index: int, body: str) -> None:
    data = YAML(typ="safe", pure=True).load(body)
    problem, municipality = problem_from_data(data)
    solution = solve(problem, calendar_for(municipality, paths.calendars_dir()))
    assert describe_solution(solution) == _next(index, "result").strip().splitlines()


@pytest.mark.parametrize("index,body", _tagged("shape"))
def test_shape_examples_are_valid(index: int, body: str) -> None:
    shape = WeekShape.model_validate(YAML(typ="safe", pure=True).load(body))
    assert shape == load_shape(shape.definition)  # the doc shows the shipped shape


@pytest.mark.parametrize("index,body", _tagged("ics"))
def test_ics_examples_import_as_documented(index: int, body: str) -> None:
    found = []
    for _, c in commitments_from_ics(body.split("\n", 1)[1]):
        when = c.describe()
        if c.weekday is not None:
            when += f" from {c.valid_from} to {c.valid_to}"
        found.append(when)
    assert found == _next(index, "commitments").strip().splitlines()


def test_every_shipped_week_shape_loads_and_names_a_shipped_definition() -> None:
    files = sorted(schedules_dir().glob("*.yaml"))
    assert [f.stem for f in files] == ["de_internationale", "hop", "sunde_kvinder"]
    for f in files:
        shape = load_shape(f.stem)
        assert shape.definition == f.stem
        d = load_definition(paths.definitions_dir() / f"{f.stem}.yaml")
        roles = {r.id for r in d.roles}
        used = {r for s in shape.sessions for r in s.staff_roles} | {
            t.staff_role for t in shape.talks
        }
        assert used <= roles, f"{f.name}: roles {sorted(used - roles)} not in the definition"
