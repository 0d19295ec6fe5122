"""Time comes from a Clock, never from the wall clock inside the core.

``SystemClock`` is the only place that reads the real time; tests and the simulator
use ``FixedClock`` (which they move forward by hand).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class FixedClock:
    """A clock that stands still until told to move: for tests and simulation."""

    current: dt.datetime

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, delta: dt.timedelta) -> None:
        self.current = self.current + delta

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.current = when


def local_today(clock: Clock) -> dt.date:
    """Today's date in Copenhagen, where the people are."""
    return clock.now().astimezone(COPENHAGEN).date()
