"""The caller owns the transaction: no engine or core module commits or rolls back, and
``unit_of_work`` keeps all of a request's work or none of it."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import citizen, definition, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow import paths
from iba_workflow.engine import record_visitation, register_citizen
from iba_workflow.errors import InvalidInput
from iba_workflow.store import tables as t
from iba_workflow.store.work import unit_of_work

PACKAGE = paths.PROJECT_ROOT / "iba_workflow"
#: The core (definition, calendar, planning, engine) and the record helpers it calls.
CORE = [
    PACKAGE / "engine",
    PACKAGE / "definition",
    PACKAGE / "planning",
    PACKAGE / "calendar.py",
    PACKAGE / "clock.py",
    PACKAGE / "cpr_guard.py",
    PACKAGE / "store" / "records.py",
]
FORBIDDEN = {"commit", "rollback"}


def _modules() -> list[Path]:
    found: list[Path] = []
    for place in CORE:
        found += sorted(place.rglob("*.py")) if place.is_dir() else [place]
    return found


def _calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(paths.PROJECT_ROOT)}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in FORBIDDEN
    ]


def test_the_scan_sees_a_commit() -> None:
    """The scan itself works: a module that commits is found."""
    sample = PACKAGE.parent / "tests" / "engine" / "_commit_sample.py"
    sample.write_text("def f(session):\n    session.commit()\n", encoding="utf-8")
    try:
        assert _calls(sample) == ["tests/engine/_commit_sample.py:2 .commit()"]
    finally:
        sample.unlink()


def test_no_engine_or_core_module_commits_or_rolls_back() -> None:
    modules = _modules()
    assert len(modules) > 20 and any(p.name == "completion.py" for p in modules)
    offenders = [call for path in modules for call in _calls(path)]
    assert offenders == [], "the caller owns the transaction: " + ", ".join(offenders)


def test_engine_calls_leave_the_commit_to_the_caller(open_session: Any, ctx: Any) -> None:
    """Without the caller's commit nothing is kept; with ``unit_of_work`` all of it."""
    with open_session() as session:
        register_citizen(session, ctx, ref="B-1", municipality="hedensted")
        assert session.exec(select(t.CitizenRow)).one().ref == "B-1"  # flushed, visible
    with open_session() as session:
        assert session.exec(select(t.CitizenRow)).all() == [], "the engine committed"
    with unit_of_work(open_session) as session:
        register_citizen(session, ctx, ref="B-1", municipality="hedensted")
    with open_session() as session:
        assert [c.ref for c in session.exec(select(t.CitizenRow))] == ["B-1"]


def test_a_refused_second_operation_rolls_back_the_first(open_session: Any, ctx: Any) -> None:
    d = definition("fagmentor")
    with unit_of_work(open_session) as session:
        staff_for(session, ctx, d)
    with pytest.raises(InvalidInput), unit_of_work(open_session) as session:
        citizen(session, ctx, "B-1")
        record_visitation(
            session,
            ctx,
            citizen_ref="B-1",
            definition=d,
            accept=True,
            answers=yes_to_all(d),
            start=dt.date(2027, 3, 1),
        )
        register_citizen(session, ctx, ref="0101901234", municipality="hedensted")
    with open_session() as session:
        for table in (t.CitizenRow, t.VisitationRow, t.EnrollmentRow, t.StepInstanceRow):
            assert session.exec(select(table)).all() == [], f"{table.__name__} was kept"
