"""What every engine operation is given: the time, the calendars, and who acts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from iba_workflow.calendar import WorkingCalendar, calendar_for
from iba_workflow.clock import Clock, local_today

CalendarProvider = Callable[[str], WorkingCalendar]


def calendars_from(folder: Path | None) -> CalendarProvider:
    """Calendars per municipality, read once each from ``folder``."""
    cache: dict[str, WorkingCalendar] = {}

    def provide(municipality: str) -> WorkingCalendar:
        if municipality not in cache:
            cache[municipality] = calendar_for(municipality, folder)
        return cache[municipality]

    return provide


@dataclass
class EngineContext:
    """The engine never reads the wall clock: ``clock`` says what time it is."""

    clock: Clock
    calendars: CalendarProvider = field(default_factory=lambda: calendars_from(None))
    actor: str = "system"
    channel: str = "cli"
    staff_id: int | None = None

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return local_today(self.clock)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One engine operation = one transaction: commit on success, roll back on any error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
