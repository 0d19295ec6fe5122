"""Fixtures for the dispatcher tests (helpers in world.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from world import SmtpServer, World, free_port, make_world

MONDAY = dt.date(2027, 3, 1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(free_port()) as server:
        yield server


@pytest.fixture
def world(store_url: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[World]:
    w = make_world(store_url, tmp_path, smtp_port=smtp.port, day=MONDAY)
    yield w
    w.engine.dispose()
