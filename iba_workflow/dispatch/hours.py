"""Working hours: when mail may go out (quiet hours are everything else) and when the
next morning digest is. Days are the working days of the staff member's municipality;
times are Copenhagen's (``Settings.work_start``/``work_end``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.clock import COPENHAGEN


@dataclass(frozen=True)
class WorkingHours:
    calendar: WorkingCalendar
    start: dt.time
    end: dt.time
    always: bool = False  # no quiet hours (Settings.notify_quiet_hours = false)

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=COPENHAGEN).astimezone(dt.UTC)

    def is_open(self, at: dt.datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(COPENHAGEN)
        return self.calendar.is_working_day(local.date()) and self.start <= local.time() < self.end

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` if mail may go now, else the next start of working hours."""
        if self.is_open(at):
            return at
        local = at.astimezone(COPENHAGEN)
        day = local.date()
        if self.calendar.is_working_day(day) and local.time() < self.start:
            return self._at(day, self.start)
        return self._at(self.calendar.add_working_days(day, 1), self.start)

    def next_working_day(self, day: dt.date) -> dt.date:
        return self.calendar.add_working_days(day, 1)

    def end_of(self, day: dt.date) -> dt.datetime:
        return self._at(day, self.end)
