"""Each broken fixture states, in its header, every problem it must produce and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from iba_workflow.definition import load_definition
from iba_workflow.errors import DefinitionError
from iba_workflow.planning.validate import validate_file

BROKEN = Path(__file__).parent / "broken"
CALENDARS = Path(__file__).resolve().parents[2] / "calendars"
FIXTURES = sorted(BROKEN.glob("*.yaml"))


def _expectations(path: Path) -> list[tuple[int, int | None, str, str | None]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect:"):
            continue
        parts = [p.strip() for p in line.removeprefix("# expect:").split("|")]
        where = parts[0].split(":")
        found.append(
            (
                int(where[0]),
                int(where[1]) if len(where) > 1 else None,
                parts[1],
                parts[2] if len(parts) > 2 else None,
            )
        )
    return found


def test_there_is_a_library_of_broken_fixtures() -> None:
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_broken_fixture_reports_every_expected_problem(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    # What `iba validate` reports: loading problems, or else every-path findings.
    report = validate_file(path, calendars_dir=CALENDARS, known_templates=None)
    problems = report.problems
    rendered = "\n".join(p.render() for p in problems)
    assert len(problems) == len(expected), rendered
    for line, column, message, hint in expected:
        matches = [
            p
            for p in problems
            if p.line == line and (column is None or p.column == column) and message in p.message
        ]
        assert matches, f"no problem at {line}:{column} saying {message!r}:\n" + rendered
        if hint is not None:
            assert matches[0].hint and hint in matches[0].hint, matches[0]
        assert matches[0].file == str(path)


def test_rendered_errors_name_file_line_and_column() -> None:
    path = BROKEN / "unknown_role.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    text = caught.value.render()
    assert text.startswith(f"{path}:20:15: unknown role 'mentr'")
    assert "hint: did you mean 'mentor'?" in text


def test_unreadable_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_definition(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"id: \xff\xfe")
    with pytest.raises(DefinitionError, match="not UTF-8"):
        load_definition(binary)


def test_repeat_bounds_take_no_shift_or_time() -> None:
    from iba_workflow.definition import parse_definition

    text = (
        (BROKEN.parent.parent.parent / "definitions" / "fagmentor.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "start: {anchor: start}\n      count: 3",
            "start: {anchor: start, shift: previous}\n      count: 3",
        )
    )
    with pytest.raises(
        DefinitionError, match="unknown key 'shift' in step 'mentor_i_virksomheden'"
    ):
        parse_definition(text)
