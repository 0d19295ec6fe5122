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
from iba_workflow.errors import InvalidInput

CalendarProvider = Callable[[str], WorkingCalendar]
DEFAULT_DATE_WINDOW = (365, 730)


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
    #: Days back and ahead of today a date given to the engine may lie (a start, a pause,
    #: an exit); the settings ``IBA_DATE_WINDOW_BACK_DAYS`` / ``…_AHEAD_DAYS``.
    date_window: tuple[int, int] = DEFAULT_DATE_WINDOW

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return local_today(self.clock)

    def check_date(self, day: dt.date, *, field: str) -> dt.date:
        """``day``, or :class:`InvalidInput` if it lies outside the sane window."""
        back, ahead = self.date_window
        today = self.today()
        first = today - dt.timedelta(days=back)
        last = today + dt.timedelta(days=ahead)
        if not first <= day <= last:
            raise InvalidInput(
                f"{field} {day.isoformat()} lies outside {first.isoformat()}..{last.isoformat()}"
                f" / {field} ligger uden for det tilladte tidsrum",
                hint=f"give a date at most {back} days back and {ahead} days ahead",
                field=field,
            )
        return day


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One engine operation inside the caller's transaction: its writes are flushed (ids,
    constraints) when it succeeds. The engine never commits and never rolls back: the
    caller (``store.work.unit_of_work``) commits the whole request or rolls all of it back,
    so a refused row of a form leaves nothing of the form behind."""
    yield session
    session.flush()
