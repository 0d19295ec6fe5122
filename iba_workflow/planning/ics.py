"""A plan as an iCalendar file a person can import into Outlook.

Meetings, tests and sessions with a start time become timed events in
Europe/Copenhagen; other steps become all-day events. Nothing personal goes in:
the summary names the intervention and the step, never the citizen.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

from .plan import Plan, PlannedStep

TZ = ZoneInfo("Europe/Copenhagen")


def step_uid(plan_ref: str, step: PlannedStep) -> str:
    """Stable UID: the same plan reference and step key always give the same event."""
    return f"{plan_ref}.{step.key}@iba-workflow"


def plan_to_ics(
    plan: Plan, *, name: str, plan_ref: str | None = None, stamp: dt.datetime | None = None
) -> bytes:
    """Render ``plan`` as iCalendar. ``stamp`` is DTSTAMP (defaults to the plan's start
    at midnight UTC, so the output is deterministic)."""
    ref = plan_ref or f"{plan.definition_id}-v{plan.definition_version}-{plan.start.isoformat()}"
    when = stamp or dt.datetime.combine(plan.start, dt.time(0), tzinfo=dt.UTC)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//iba-workflow//plan//DA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{name} · plan")
    for step in plan.steps:
        ev = icalendar.Event()
        ev.add("uid", step_uid(ref, step))
        ev.add("dtstamp", when)
        ev.add("summary", f"{name} · {step.name}")
        if step.time is not None:
            ev.add("dtstart", dt.datetime.combine(step.date, step.time, tzinfo=TZ))
            ev.add("duration", dt.timedelta(minutes=step.duration_minutes or 60))
        else:
            ev.add("dtstart", step.date)
            ev.add("dtend", step.date + dt.timedelta(days=1))
            ev.add("transp", "TRANSPARENT")
        if step.place:
            ev.add("location", step.place)
        lines = [f"Trin: {step.key} ({step.kind})", f"Ansvarlig rolle: {step.assignee}"]
        if step.attendees:
            lines.append("Deltagere (roller): " + ", ".join(step.attendees))
        if step.shift_reason:
            lines.append(f"Flyttet: {step.shift_reason}")
        ev.add("description", "\n".join(lines))
        cal.add_component(ev)
    for sk in plan.skipped:
        # A dropped occurrence is in the calendar too, cancelled, so nobody expects it.
        ev = icalendar.Event()
        ev.add("uid", f"{ref}.{sk.step_key}.{sk.date.isoformat()}.aflyst@iba-workflow")
        ev.add("dtstamp", when)
        ev.add("summary", f"Aflyst: {name} · {sk.name or sk.step_key}")
        ev.add("dtstart", sk.date)
        ev.add("dtend", sk.date + dt.timedelta(days=1))
        ev.add("transp", "TRANSPARENT")
        ev.add("status", "CANCELLED")
        ev.add("description", f"Trin: {sk.step_key}\nHoldes ikke: {sk.reason}")
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()
