"""Whatever YAML arrives, the loader answers with a Definition or a DefinitionError."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from iba_workflow import paths
from iba_workflow.definition import Definition, parse_definition
from iba_workflow.definition.loader import MAX_FLOW_DEPTH, too_deep
from iba_workflow.errors import DefinitionError

VOCABULARY = [
    "id",
    "name",
    "version",
    "municipality",
    "description",
    "seed",
    "hours_per_week",
    "duration",
    "weeks",
    "capacity",
    "intake",
    "kind",
    "cohorts",
    "roles",
    "steps",
    "when",
    "anchor",
    "offset",
    "working_days",
    "days",
    "repeat",
    "weekdays",
    "until",
    "count",
    "outcomes",
    "extend",
    "replan",
    "only_after",
    "step",
    "outcome",
    "attendees",
    "assignee",
    "depends_on",
    "time",
    "shift",
    "dimensions",
    "scale",
    "min",
    "max",
    "template",
    "ends",
    "meeting",
    "task",
    "session",
    "evaluation",
    "test",
    "measurement",
    "start",
    "end",
    "midway",
    "step.a",
    "completion.a",
    "iba",
    "a",
    "b",
    "10:00",
    "mon",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.sampled_from(VOCABULARY),
    st.text(max_size=12),
    st.dates(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=6), inner, max_size=6),
    ),
    max_leaves=40,
)


def _dump(data: Any) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.dump(data, out)
    return out.getvalue()


def _only_definition_errors(text: str) -> None:
    try:
        result = parse_definition(text, file="fuzz.yaml", known_templates=paths.known_templates())
    except DefinitionError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml"
            assert problem.message
        exc.render()
        return
    assert isinstance(result, Definition)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _only_definition_errors(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_yaml_documents(data: Any) -> None:
    _only_definition_errors(_dump(data))


FAGMENTOR = (paths.PROJECT_ROOT / "definitions" / "fagmentor.yaml").read_text(encoding="utf-8")
LINES = FAGMENTOR.splitlines()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(LINES) - 1),
            st.sampled_from(["delete", "replace", "indent", "dedent", "insert"]),
            st.sampled_from(VOCABULARY) | st.text(max_size=10),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_real_definition(edits: list[tuple[int, str, str]]) -> None:
    lines = list(LINES)
    for index, op, word in edits:
        index = min(index, len(lines) - 1)
        if op == "delete" and len(lines) > 1:
            del lines[index]
        elif op == "replace":
            head = lines[index].split(":", 1)[0]
            lines[index] = f"{head}: {word}"
        elif op == "indent":
            lines[index] = "  " + lines[index]
        elif op == "dedent":
            lines[index] = lines[index].lstrip()
        else:
            lines.insert(index, f"{word}: {word}")
    _only_definition_errors("\n".join(lines))


def test_deep_nesting_is_refused_politely() -> None:
    _only_definition_errors("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(DefinitionError) as refused:
        parse_definition("id: x\nsteps:\n  - a: " + "{" * (MAX_FLOW_DEPTH + 1), file="deep.yaml")
    (problem,) = refused.value.problems
    assert problem.message == "the document is nested too deeply"
    assert (problem.line, problem.column) == (3, 8 + MAX_FLOW_DEPTH)  # the bracket too many
    assert problem.hint and str(MAX_FLOW_DEPTH) in problem.hint


def test_brackets_in_quotes_and_comments_are_not_nesting() -> None:
    """Only real brackets count: text in quotes or a comment may hold any number."""
    many = "[" * (MAX_FLOW_DEPTH + 50)
    for text in (
        f'a: "{many}"',
        f"a: '{many}'",
        f"a: 'it''s {many}'",
        f'a: "a \\" {many}"',
        f"# {many}\nb: 1",
        f"a: 1  # {many}",
    ):
        assert too_deep(text) is None, text
    assert too_deep(f"a: it's {many}") is not None  # an apostrophe in a word is no quote
    assert too_deep("a: " + "[" * MAX_FLOW_DEPTH + "]" * MAX_FLOW_DEPTH) is None


def test_alias_bomb_is_refused_or_loaded_without_crashing() -> None:
    bomb = "a: &a [x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)
    )
    _only_definition_errors(bomb)
