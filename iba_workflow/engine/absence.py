"""The weekly absence list (a step of kind ``attendance``): one attendance row per
participant and day.

A list due on a day covers the working days of its week up to that day (from the start of
the course on). Completing it names the days she was absent (``absent_on``); every other
day of the list is a day present. The rows feed the evaluations (absence days on the
evaluation's page and the enrollment's page) and the reports' attendance rate, read per
day by :mod:`iba_workflow.store.attendance`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import Session

from iba_workflow.calendar import WorkingCalendar
from iba_workflow.errors import InvalidInput
from iba_workflow.store.records import pk
from iba_workflow.store.rows import insert_rows
from iba_workflow.store.tables import AttendanceRow, EnrollmentRow, StepInstanceRow


def list_days(calendar: WorkingCalendar, due: dt.date, start: dt.date) -> list[dt.date]:
    """The days an absence list due on ``due`` covers: the working days of its week up to
    ``due``, none before the course's ``start``."""
    monday = due - dt.timedelta(days=due.weekday())
    span = (monday + dt.timedelta(days=i) for i in range((due - monday).days + 1))
    return [day for day in span if day >= start and calendar.is_working_day(day)]


def _listed(days: list[dt.date]) -> str:
    return ", ".join(day.isoformat() for day in days) or "(ingen dage)"


def absence_data(data: Mapping[str, Any], days: list[dt.date]) -> dict[str, Any]:
    """``data`` with ``absent_on`` (ISO days, sorted) and ``absent_days`` (their number).
    ``absent_on`` may be a list or a comma-separated text; ``absent_days`` alone is enough
    only when it says none or every day of the list."""
    out = dict(data)
    raw = data.get("absent_on")
    if raw is None:
        count = str(data.get("absent_days", 0)).strip() or "0"
        if not count.isdigit() or int(count) not in (0, len(days)):
            raise InvalidInput(
                f"absent_days={count}: name the days she was absent (nævn fraværsdagene)",
                hint=f"absent_on=DAY,DAY with days of this list: {_listed(days)}",
            )
        absent = days if int(count) else []
    else:
        texts = raw if isinstance(raw, list) else str(raw).split(",")
        absent = []
        for text in (str(t).strip() for t in texts):
            if not text:
                continue
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise InvalidInput(
                    f"absent_on: '{text}' is not a date (ikke en dato)",
                    hint=f"days of this list: {_listed(days)}",
                ) from None
            if day not in days:
                raise InvalidInput(
                    f"absent_on: {day} is not a day of this absence list (ikke en dag på listen)",
                    hint=f"days of this list: {_listed(days)}",
                )
            absent.append(day)
    out["absent_on"] = sorted({day.isoformat() for day in absent})
    out["absent_days"] = len(out["absent_on"])
    return out


def record_absence_list(
    session: Session,
    row: StepInstanceRow,
    enrollment: EnrollmentRow,
    days: list[dt.date],
    absent_on: Iterable[str],
    at: dt.datetime,
) -> None:
    """One attendance row per day of the list. The reason stays on the completion."""
    absent = set(absent_on)
    insert_rows(
        session,
        AttendanceRow,
        [
            {
                "enrollment_id": pk(enrollment),
                "step_instance_id": pk(row),
                "day": day,
                "present": day.isoformat() not in absent,
                "reason": None,
                "recorded_at": at,
            }
            for day in days
        ],
    )
