"""The Danish working-day calendar: public holidays, local closing days, shifts with reasons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iba_workflow import paths
from iba_workflow.calendar import (
    ClosingDay,
    WorkingCalendar,
    calendar_for,
    load_municipality_calendar,
)
from iba_workflow.errors import CalendarError

D = dt.date
PLAIN = WorkingCalendar()
HEDENSTED = calendar_for("hedensted", paths.PROJECT_ROOT / "calendars")


def test_store_bededag_is_a_working_day_from_2024() -> None:
    assert PLAIN.closed_reason(D(2023, 5, 5)) == "Store bededag"
    assert PLAIN.is_working_day(D(2024, 4, 26))
    assert PLAIN.is_working_day(D(2027, 4, 23))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2027, 3, 25), "Skærtorsdag"),
        (D(2027, 3, 26), "Langfredag"),
        (D(2027, 3, 29), "Anden påskedag"),
        (D(2027, 5, 6), "Kristi himmelfartsdag"),
        (D(2027, 5, 17), "Anden pinsedag"),
        (D(2026, 12, 25), "Juledag"),
        (D(2027, 1, 1), "Nytårsdag"),
    ],
)
def test_public_holidays_have_danish_names(day: dt.date, name: str) -> None:
    assert not PLAIN.is_working_day(day)
    assert PLAIN.closed_reason(day) == name


def test_shift_says_why_in_danish() -> None:
    shift = PLAIN.shift(D(2026, 5, 14), "next")
    assert shift is not None
    assert (shift.date, shift.reason) == (D(2026, 5, 15), "Kristi himmelfartsdag → fredag")
    assert PLAIN.shift(D(2026, 5, 13), "next") is None
    weekend = PLAIN.shift(D(2027, 3, 6), "previous")
    assert weekend is not None and weekend.reason == "lørdag → fredag"


def test_shift_policies() -> None:
    saturday = D(2027, 3, 13)
    assert PLAIN.shift(saturday, "next").date == D(2027, 3, 15)  # type: ignore[union-attr]
    assert PLAIN.shift(saturday, "previous").date == D(2027, 3, 12)  # type: ignore[union-attr]
    assert PLAIN.shift(saturday, "nearest").date == D(2027, 3, 12)  # type: ignore[union-attr]
    sunday = D(2027, 3, 14)
    assert PLAIN.shift(sunday, "nearest").date == D(2027, 3, 15)  # type: ignore[union-attr]
    # Easter: from Skærtorsdag, the nearest working day is Wednesday before (1 day) rather
    # than Tuesday after Easter (5 days).
    assert PLAIN.shift(D(2027, 3, 25), "nearest").date == D(2027, 3, 24)  # type: ignore[union-attr]


def test_municipality_closing_days_come_from_configuration() -> None:
    assert PLAIN.is_working_day(D(2026, 6, 5))
    assert HEDENSTED.closed_reason(D(2026, 6, 5)) == "Grundlovsdag (lukkedag)"
    assert HEDENSTED.closed_reason(D(2026, 12, 24)) == "Juleaftensdag (lukkedag)"
    assert HEDENSTED.closed_reason(D(2026, 12, 31)) == "Nytårsaftensdag (lukkedag)"
    # The Friday after Kristi himmelfartsdag, an Easter-relative rule.
    assert HEDENSTED.closed_reason(D(2027, 5, 7)) == "Fredag efter Kristi himmelfartsdag (lukkedag)"
    shift = HEDENSTED.shift(D(2027, 5, 6), "next")
    assert shift is not None and shift.reason == "Kristi himmelfartsdag → mandag"


def test_add_working_days_across_christmas_and_new_year() -> None:
    # 23 Dec 2026 (Wed) + 1 working day in Hedensted: 24 (closing), 25-27 holidays/weekend → 28.
    assert HEDENSTED.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)
    # 30 Dec + 1 → 31 closed, 1 Jan holiday, 2–3 weekend → Monday 4 January 2027.
    assert HEDENSTED.add_working_days(D(2026, 12, 30), 1) == D(2027, 1, 4)
    assert HEDENSTED.add_working_days(D(2027, 1, 4), -2) == D(2026, 12, 29)
    assert HEDENSTED.add_working_days(D(2027, 1, 4), 0) == D(2027, 1, 4)
    # 21–23 Dec, 28–30 Dec, 4–8 Jan
    assert HEDENSTED.working_days_between(D(2026, 12, 21), D(2027, 1, 8)) == 3 + 3 + 5


def test_one_off_closing_day() -> None:
    cal = WorkingCalendar(closing_days=(ClosingDay(name="Flytning", date=D(2027, 9, 1)),))
    assert cal.closed_reason(D(2027, 9, 1)) == "Flytning (lukkedag)"
    assert cal.is_working_day(D(2028, 9, 1))


def test_invalid_calendar_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text(
        "municipality: x\nclosing_days:\n  - {name: Both, month: 6, day: 5, date: 2027-01-01}\n"
    )
    with pytest.raises(CalendarError, match=r"closing_days\.0") as caught:
        load_municipality_calendar(bad)
    assert caught.value.hint and "month+day" in caught.value.hint
    with pytest.raises(CalendarError, match="cannot read"):
        load_municipality_calendar(tmp_path / "missing.yaml")


def test_unknown_municipality_falls_back_to_public_holidays(tmp_path: Path) -> None:
    cal = calendar_for("aarhus", tmp_path)
    assert cal.is_working_day(D(2026, 6, 5)) and not cal.is_working_day(D(2026, 12, 25))
