"""A seeded store per backend for the report tests."""

from __future__ import annotations

from typing import Any

import pytest
from report_world import World, seed


@pytest.fixture
def world(open_session: Any) -> Any:
    with open_session() as session:
        w: World = seed(session)
        yield w
