"""Helpers for the schedule tests that need the record: staff, a citizen, an enrollment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.engine import EngineContext, add_staff, calendars_from, register_citizen
from iba_workflow.engine.intake import record_visitation

START = dt.date(2027, 3, 1)


def at(day: dt.date, hour: int = 8, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=COPENHAGEN)


def context() -> EngineContext:
    return EngineContext(
        clock=FixedClock(at(dt.date(2027, 2, 15)).astimezone(dt.UTC)),
        calendars=calendars_from(paths.calendars_dir()),
        actor="test",
    )


def staff(session: Any, ctx: EngineContext, role: str, email: str | None = None) -> int:
    row = add_staff(
        session,
        ctx,
        name=f"Test {role}",
        email=email or f"{role}@test.invalid",
        roles=[role],
        municipality="hedensted",
    )
    assert row.id is not None
    return row.id


def enrolled(session: Any, ctx: EngineContext, ref: str, definition: str = "fagmentor") -> int:
    d = load_definition(paths.definitions_dir() / f"{definition}.yaml")
    register_citizen(session, ctx, ref=ref, municipality=d.municipality)
    result = record_visitation(
        session,
        ctx,
        citizen_ref=ref,
        definition=d,
        accept=True,
        start=START,
        answers={c.id: True for c in d.eligibility if not c.health},
    )
    assert result.enrollment_id is not None
    return result.enrollment_id
