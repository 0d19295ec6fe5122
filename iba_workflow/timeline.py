"""The timeline of a store: what was recorded and what would have been sent, day by day,
as ``iba simulate`` and the fast demo print it (ids and step keys only: no personal
data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.store.tables import AuditRow, CitizenRow, EnrollmentRow, OutboxRow, StaffRow


@dataclass(frozen=True)
class TimelineEntry:
    day: dt.date
    participant: str
    what: str


def timeline(session: Session) -> list[TimelineEntry]:
    """What was recorded and what would have been sent, day by day (ids and step keys
    only: no personal data)."""
    refs = {
        e.id: ref
        for e, ref in session.exec(
            select(EnrollmentRow, CitizenRow.ref).join(
                CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id
            )
        )
    }
    citizens = {c.id: c.ref for c in session.exec(select(CitizenRow))}
    staff = {s.id: "/".join(s.roles) for s in session.exec(select(StaffRow))}
    entries: list[tuple[dt.datetime, int, TimelineEntry]] = []

    def day_of(at: dt.datetime) -> dt.date:
        return at.astimezone(COPENHAGEN).date()

    for a in session.exec(select(AuditRow).order_by(col(AuditRow.id))):
        who = refs.get(a.enrollment_id) or citizens.get(a.citizen_id) or "-"
        text = _describe_audit(a.action, a.details)
        if text:
            entries.append((a.at, 0, TimelineEntry(day_of(a.at), who, text)))
    for o in session.exec(select(OutboxRow).order_by(col(OutboxRow.id))):
        if o.kind == "digest" and o.status == "dropped":
            continue  # "nothing to tell today": a day's marker, not a mail
        who = refs.get(o.enrollment_id) or "-"
        p = o.payload
        to = staff.get(o.recipient_staff_id, "?")
        if o.kind == "digest":  # a morning digest or a bundle: what it carries
            what = f"{p.get('mode', 'digest')}: {len(p.get('items', []))} notifications"
            text = f"mail {what} → {to} [{o.status}]"
        else:
            when = f" ({p.get('due_date')}{' ' + p['time'] if p.get('time') else ''})"
            if o.kind == "enrollment_ended":
                when = f" ({p.get('cancelled', 0)} cancelled)"
            text = f"mail {o.kind:<18} {p.get('step_key', '')}{when} → {to} [{o.status}]"
        entries.append((o.created_at, 1, TimelineEntry(day_of(o.created_at), who, text)))
    entries.sort(key=lambda e: (e[0], e[1]))  # a change first, then the mails it causes
    return [e[2] for e in entries]


def _describe_audit(action: str, details: dict[str, Any]) -> str | None:
    if action == "visitation_recorded":
        what = f"{details.get('definition')} v{details.get('version')}"
        return f"visitation: {details.get('decision')} ({what})"
    if action in ("step_completed", "step_skipped"):
        outcome = details.get("outcome")
        verb = "completed" if action == "step_completed" else "skipped"
        return f"{verb:<9} {details.get('step_key')}" + (f" → {outcome}" if outcome else "")
    if action == "replanned":
        impact = details.get("impact", {})
        counts: dict[str, int] = {}
        for change in impact.values():
            counts[change] = counts.get(change, 0) + 1
        summary = ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) or "no change"
        return f"replanned {details.get('change', {}).get('kind')}: {summary}"
    if action == "enrollment_status":
        return f"enrollment {details.get('old')} → {details.get('new')} ({details.get('reason')})"
    if action == "admitted_from_waiting_list":
        return f"admitted from the waiting list, start {details.get('start')}"
    if action in ("consent_given", "consent_withdrawn"):
        return action.replace("_", " ")
    return None
