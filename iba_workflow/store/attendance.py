"""Attendance per participant and day, as the evaluations and the reports read it.

Rows come from group and individual sessions (present or not) and from the weekly absence
lists (one row per day of the list, :mod:`iba_workflow.engine.absence`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlmodel import Session, col, select

from .tables import AttendanceRow


def attendance_by_day(marks: Iterable[tuple[dt.date, bool]]) -> dict[dt.date, bool]:
    """One mark per day (a session and the week's list may both speak of a day): absent
    if any record of the day says so."""
    days: dict[dt.date, bool] = {}
    for day, present in marks:
        days[day] = days.get(day, True) and present
    return dict(sorted(days.items()))


def attendance_days(
    session: Session, enrollment_id: int, *, until: dt.date | None = None
) -> dict[dt.date, bool]:
    """Day → present, for one enrollment (up to ``until``)."""
    query = select(col(AttendanceRow.day), col(AttendanceRow.present)).where(
        AttendanceRow.enrollment_id == enrollment_id
    )
    if until is not None:
        query = query.where(col(AttendanceRow.day) <= until)
    return attendance_by_day(session.exec(query).all())
