"""docs/seeds.md lists, per seed, every `assumption:` its definition carries, with the note
the plan shows: a coordinator reading the page sees everything there is to confirm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iba_workflow import paths
from iba_workflow.definition import load_definition

DOC = paths.PROJECT_ROOT / "docs" / "seeds.md"
FILES = sorted((paths.PROJECT_ROOT / "definitions").glob("*.yaml"))


def _section(name: str) -> str:
    for part in DOC.read_text(encoding="utf-8").split("\n## "):
        if f"`{name}`" in part.split("\n", 1)[0]:
            return part
    raise AssertionError(f"docs/seeds.md has no section for {name}")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_assumption_is_listed_with_its_note(path: Path) -> None:
    d = load_definition(path)
    section = _flat(_section(path.name))
    assert "| the seed says | the definition |" in section  # the fact table
    for note in d.assumptions:
        assert f"| (the definition) | {_flat(note)} |" in section, note
    for step in d.steps:
        if step.assumption:
            assert f"| `{step.id}` | {_flat(step.assumption)} |" in section, step.id
        for o in step.outcomes_list:
            if o.assumption:
                assert f"| `{step.id}={o.id}` | {_flat(o.assumption)} |" in section, o.id
