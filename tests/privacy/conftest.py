"""The privacy tests reuse the seeded story of the report tests (tests/reports)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))


@pytest.fixture
def keyring_reset() -> Iterator[None]:
    """Tests that configure their own identity keys leave the default behind them."""
    from iba_workflow.privacy.crypto import configure_keyring

    yield
    configure_keyring(None)
