"""Fixtures for the engine tests (helpers live in engine_helpers.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_helpers import at

from iba_workflow import paths
from iba_workflow.clock import FixedClock
from iba_workflow.engine import EngineContext, calendars_from


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(dt.date(2027, 2, 15)))


@pytest.fixture
def ctx(clock: FixedClock) -> EngineContext:
    return EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))


@pytest.fixture
def session(open_session: Any) -> Any:
    with open_session() as s:
        yield s
