"""The Danish working-day calendar.

Weekends and public holidays (the ``holidays`` package: Denmark, Danish names; Store
Bededag is gone from 2024 on) plus the municipality's own closing days from
``calendars/<municipality>.yaml`` (Grundlovsdag, 24 and 31 December, ...).

Pure: no wall clock. Every shift says why, in Danish ("Kristi himmelfartsdag → fredag").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import holidays
from dateutil.easter import easter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iba_workflow.errors import CalendarError

WEEKDAYS_DA = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
Policy = Literal["next", "previous", "nearest"]
_UNKNOWN = object()  # not yet remembered (None is a remembered answer)


class ClosingDay(BaseModel):
    """A local closing day: every year on a month/day, relative to Easter, or one date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    month: int | None = Field(None, ge=1, le=12)
    day: int | None = Field(None, ge=1, le=31)
    easter_offset: int | None = Field(None, ge=-100, le=100)
    date: dt.date | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ClosingDay:
        rules = [
            self.month is not None or self.day is not None,
            self.easter_offset is not None,
            self.date is not None,
        ]
        if sum(rules) != 1:
            raise ValueError("give month+day, easter_offset, or date (exactly one)")
        if (self.month is None) != (self.day is None):
            raise ValueError("month and day go together")
        return self

    def on(self, year: int) -> dt.date | None:
        if self.date is not None:
            return self.date if self.date.year == year else None
        if self.easter_offset is not None:
            return easter(year) + dt.timedelta(days=self.easter_offset)
        assert self.month is not None and self.day is not None
        try:
            return dt.date(year, self.month, self.day)
        except ValueError:
            return None


class MunicipalityCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    municipality: str
    closing_days: list[ClosingDay] = Field(default_factory=list)


@dataclass(frozen=True)
class Shift:
    """A date moved off a closed day, with the reason a person reads."""

    original: dt.date
    date: dt.date
    reason: str


@dataclass
class WorkingCalendar:
    """Which days are working days, and how to move off the ones that are not."""

    closing_days: tuple[ClosingDay, ...] = ()
    municipality: str | None = None
    _cache: dict[int, dict[dt.date, str]] = field(default_factory=dict, repr=False)
    _added: dict[tuple[dt.date, int], dt.date] = field(
        default_factory=dict, repr=False, compare=False
    )
    _shifts: dict[tuple[dt.date, str], Shift | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    def closed_reason(self, day: dt.date) -> str | None:
        """Why ``day`` is not a working day (holiday or closing day name, or weekday), or None."""
        names = self._year(day.year)
        if day in names:
            return names[day]
        if day.weekday() >= 5:
            return WEEKDAYS_DA[day.weekday()]
        return None

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._year(day.year)

    def closed_in(self, year: int) -> dict[dt.date, str]:
        """The public holidays and closing days of ``year`` (date → name), weekends aside:
        a Monday–Friday not in it is a working day. Read-only."""
        return self._year(year)

    def _year(self, year: int) -> dict[dt.date, str]:
        cached = self._cache.get(year)
        if cached is None:
            cached = dict(_public_holidays(year))
            for rule in self.closing_days:
                when = rule.on(year)
                if when is not None and when not in cached:
                    cached[when] = f"{rule.name} (lukkedag)"
            self._cache[year] = cached
        return cached

    def shift(self, day: dt.date, policy: Policy = "next") -> Shift | None:
        """Move ``day`` to a working day. None when it already is one. Remembered per
        calendar (a plan asks about every day of its weekly sessions; shifts are frozen)."""
        key = (day, policy)
        found = self._shifts.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._shift(day, policy)
            if len(self._shifts) < 100_000:
                self._shifts[key] = found
        return found  # type: ignore[return-value]

    def _shift(self, day: dt.date, policy: Policy) -> Shift | None:
        reason = self.closed_reason(day)
        if reason is None:
            return None
        if policy == "next":
            new = self._walk(day, +1)
        elif policy == "previous":
            new = self._walk(day, -1)
        else:
            after, before = self._walk(day, +1), self._walk(day, -1)
            new = before if (day - before) < (after - day) else after
        return Shift(day, new, f"{reason} → {WEEKDAYS_DA[new.weekday()]}")

    def _walk(self, day: dt.date, step: int) -> dt.date:
        current = day
        for _ in range(400):
            current += dt.timedelta(days=step)
            if self.is_working_day(current):
                return current
        raise CalendarError("no working day within 400 days", day=day)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """``n`` working days after ``day`` (before, if negative). ``n == 0`` returns ``day``.
        Remembered per calendar (the planner asks the same few thousand questions often)."""
        found = self._added.get((day, n))
        if found is not None:
            return found
        current = day
        step = 1 if n > 0 else -1
        for _ in range(abs(n)):
            current = self._walk(current, step)
        if len(self._added) < 100_000:
            self._added[(day, n)] = current
        return current

    def working_days_between(self, first: dt.date, last: dt.date) -> int:
        """Working days in ``[first, last]`` (0 if last < first)."""
        count = 0
        current = first
        while current <= last:
            if self.is_working_day(current):
                count += 1
            current += dt.timedelta(days=1)
        return count

    def closed_days(self, first: dt.date, last: dt.date) -> Iterable[tuple[dt.date, str]]:
        current = first
        while current <= last:
            reason = self.closed_reason(current)
            if reason is not None and current.weekday() < 5:
                yield current, reason
            current += dt.timedelta(days=1)


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> tuple[tuple[dt.date, str], ...]:
    found = holidays.country_holidays("DK", years=year, language="da")
    return tuple(sorted(found.items()))


def load_municipality_calendar(path: str | Path) -> WorkingCalendar:
    """Read ``calendars/<municipality>.yaml``. Raises :class:`CalendarError`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8"))
        cfg = MunicipalityCalendar.model_validate(data)
    except OSError as exc:
        raise CalendarError(
            f"cannot read calendar {path}: {exc.strerror}", path=str(path)
        ) from None
    except YAMLError as exc:
        raise CalendarError(f"calendar {path} is not valid YAML: {exc}", path=str(path)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CalendarError(
            f"calendar {path}: {where}: {first['msg']}",
            path=str(path),
            hint="each closing day needs 'name' and one of month+day, easter_offset or date",
        ) from None
    return WorkingCalendar(closing_days=tuple(cfg.closing_days), municipality=cfg.municipality)


def calendar_for(municipality: str, calendars_dir: str | Path | None) -> WorkingCalendar:
    """The municipality's calendar, or plain public holidays if it has no file."""
    if calendars_dir is not None:
        path = Path(calendars_dir) / f"{municipality}.yaml"
        if path.exists():
            return load_municipality_calendar(path)
    return WorkingCalendar(municipality=municipality)
