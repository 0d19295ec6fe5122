"""Writing a target plan into the record: step instances, and the notifications the
change causes, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from iba_workflow.store.outbox import enqueue
from iba_workflow.store.records import pk
from iba_workflow.store.tables import (
    EnrollmentRow,
    EnrollmentStaffRow,
    StaffCoverRow,
    StaffRow,
    StepInstanceRow,
)

from .context import EngineContext
from .target import ImpactLine, TargetStep


class Recipients:
    """Role → staff member for one enrollment: an explicit assignment, else the first
    active staff member of the municipality who holds the role. External roles
    (company manager, VUC) usually have nobody, and are then not mailed."""

    def __init__(
        self, session: Session, enrollment: EnrollmentRow, *, on: dt.date | None = None
    ) -> None:
        self._assigned = {
            a.role: a.staff_id
            for a in session.exec(
                select(EnrollmentStaffRow).where(EnrollmentStaffRow.enrollment_id == enrollment.id)
            )
        }
        #: who covers whom on ``on`` (``staff_cover``): their tasks go to the colleague
        self._cover: dict[int, int] = {}
        if on is not None:
            for c in session.exec(
                select(StaffCoverRow)
                .where(col(StaffCoverRow.first_day) <= on, col(StaffCoverRow.last_day) >= on)
                .order_by(col(StaffCoverRow.id))
            ):
                self._cover[c.staff_id] = c.cover_staff_id
        self._staff = list(
            session.exec(
                select(StaffRow)
                .where(StaffRow.municipality == enrollment.municipality, StaffRow.active == True)  # noqa: E712
                .order_by(col(StaffRow.id))
            )
        )

    @classmethod
    def from_loaded(
        cls, assigned: dict[str, int], cover: dict[int, int], staff: list[StaffRow]
    ) -> Recipients:
        """From rows already read (``engine.recipients.RecipientBook``: one query per kind
        of row for many enrollments)."""
        self = cls.__new__(cls)
        self._assigned, self._cover, self._staff = assigned, cover, staff
        return self

    def for_role(self, role: str | None) -> int | None:
        if role is None:
            return None
        if role in self._assigned:
            return self.covered(self._assigned[role])
        for s in self._staff:
            if role in s.roles:
                return self.covered(s.id)
        return None

    def covered(self, staff_id: int | None) -> int | None:
        """``staff_id``, or the colleague covering for them that day."""
        if staff_id is None:
            return None
        return self._cover.get(staff_id, staff_id)

    def for_step(self, row: StepInstanceRow) -> list[int]:
        """The assignee, plus for meetings every attendee who is staff."""
        found: list[int] = []
        first = self.covered(row.assigned_staff_id) or self.for_role(row.assignee_role)
        roles = [row.assignee_role, *row.attendee_roles] if is_meeting(row) else []
        for staff_id in [first, *(self.for_role(r) for r in roles)]:
            if staff_id is not None and staff_id not in found:
                found.append(staff_id)
        return found


def is_meeting(row: StepInstanceRow) -> bool:
    return row.kind == "meeting" or bool(row.attendee_roles)


def group_id(group_key: str) -> str:
    """A short, stable id of a group occurrence for message ids and calendar UIDs."""
    return "g" + hashlib.sha256(group_key.encode()).hexdigest()[:20]


def calendar_id(row: StepInstanceRow) -> str | int:
    """What a meeting's calendar UID is made from: the group occurrence of a per_group
    step (one event for the whole group), else the step instance."""
    return group_id(row.group_key) if row.group_key else (row.id or 0)


def live_group_members(session: Session, row: StepInstanceRow) -> int:
    """How many other open instances share ``row``'s group occurrence."""
    if not row.group_key:
        return 0
    return len(
        session.exec(
            select(StepInstanceRow.id).where(
                StepInstanceRow.group_key == row.group_key,
                StepInstanceRow.id != row.id,
                col(StepInstanceRow.status).in_(("planned", "due", "notified")),
            )
        ).all()
    )


def announced(row: StepInstanceRow) -> bool:
    """Has anyone been told about this step yet?"""
    return row.kind != "session" and (is_meeting(row) or row.status in ("due", "notified"))


def step_payload(row: StepInstanceRow, **extra: Any) -> dict[str, Any]:
    """What a notification carries: ids and step facts, never who the citizen is."""
    payload: dict[str, Any] = {
        "enrollment_id": row.enrollment_id,
        "step_instance_id": row.id,
        "step_key": row.key,
        "step_id": row.step_id,
        "step_name": row.name,
        "kind": row.kind,
        "due_date": row.due_date.isoformat(),
        "time": row.due_time.strftime("%H:%M") if row.due_time else None,
        "template": row.template,
        "assignee_role": row.assignee_role,
    }
    payload.update(extra)
    return payload


def notify(
    session: Session,
    ctx: EngineContext,
    row: StepInstanceRow,
    kind: str,
    recipients: Iterable[int],
    *,
    tag: str,
    **extra: Any,
) -> int:
    """One outbox row per recipient; ``tag`` makes the message id stable and unique.
    A group step's occurrence (``group_key``) is one message per recipient for the whole
    group: the first member's instance carries it, the others find it sent.
    The rows are ``new``: the dispatcher decides per recipient whether each goes into the
    morning digest or into a mail of its own, and when (``dispatch.route``)."""
    made = 0
    subject = group_id(row.group_key) if row.group_key else row.id
    for staff_id in recipients:
        if enqueue(
            session,
            message_id=f"{kind}/{subject}/{tag}/{staff_id}",
            kind=kind,
            recipient_staff_id=staff_id,
            now=ctx.now(),
            step_instance_id=row.id,
            enrollment_id=row.enrollment_id,
            payload=step_payload(row, **extra),
            status="new",
        ):
            made += 1
    return made


def _fill(row: StepInstanceRow, t: TargetStep, recipients: Recipients) -> None:
    s = t.step
    row.step_id, row.kind, row.name, row.period = s.step_id, s.kind, s.name, s.period
    row.branch = f"{s.branch[0]}:{s.branch[1]}" if s.branch else None
    row.due_date, row.due_time = t.date, s.time
    row.assignee_role = s.assignee
    row.assigned_staff_id = recipients.for_role(s.assignee)
    row.attendee_roles = list(s.attendees)
    row.depends_on = list(s.depends_on)
    row.reminders = [d.isoformat() for d in t.reminders]
    row.remind_from = min(t.reminders) if t.reminders else None
    row.escalation_date = t.escalation[0] if t.escalation else None
    row.escalation_role = t.escalation[1] if t.escalation else None
    row.template = s.template
    row.group_key = s.group


def apply_target(
    session: Session,
    ctx: EngineContext,
    enrollment: EnrollmentRow,
    instances: Sequence[StepInstanceRow],
    target: Mapping[str, TargetStep],
    lines: Sequence[ImpactLine],
) -> None:
    """Write ``lines`` (from :func:`diff_instances`) and their notifications."""
    now = ctx.now()
    recipients = Recipients(session, enrollment, on=ctx.today())
    by_key = {row.key: row for row in instances}
    for line in lines:
        row = by_key.get(line.key)
        if line.change == "added":
            if row is None:
                # _fill() sets the plan's fields on the next line.
                row = StepInstanceRow(  # type: ignore[call-arg]
                    enrollment_id=pk(enrollment),
                    key=line.key,
                    created_at=now,
                    status="planned",
                    # given, not defaulted: a default_factory costs ~10× the whole row
                    # (pydantic inspects the factory on every construction)
                    attendee_roles=[],
                    depends_on=[],
                    reminders=[],
                )
            else:
                row.revision += 1
            _fill(row, target[line.key], recipients)
            row.status, row.updated_at = "planned", now
            session.add(row)
            session.flush()
            if is_meeting(row):
                notify(
                    session,
                    ctx,
                    row,
                    "meeting_invitation",
                    recipients.for_step(row),
                    tag=_group_tag(row) or f"r{row.revision}",
                )
        elif line.change == "moved":
            assert row is not None
            told = announced(row)
            row.revision += 1
            _fill(row, target[line.key], recipients)
            row.updated_at = now
            session.add(row)
            if told:
                notify(
                    session,
                    ctx,
                    row,
                    "change",
                    recipients.for_step(row),
                    tag=_group_tag(row) or f"r{row.revision}",
                    old_date=_iso(line.old_date),
                )
        elif line.change == "cancelled":
            assert row is not None
            row.status, row.updated_at = "cancelled", now
            session.add(row)
            if row.kind != "session" and not live_group_members(session, row):
                notify(
                    session,
                    ctx,
                    row,
                    "cancellation",
                    recipients.for_step(row),
                    tag=f"r{row.revision}",
                )
    for key, t in target.items():  # keep reminder dates current for unchanged steps
        row = by_key.get(key)
        if row is not None and row.status in ("planned", "due", "notified"):
            reminders = [d.isoformat() for d in t.reminders]
            if row.reminders != reminders:
                row.reminders = reminders
                row.remind_from = min(t.reminders) if t.reminders else None
                session.add(row)
    session.flush()


def _group_tag(row: StepInstanceRow) -> str | None:
    """A group occurrence's message tag: its time, the same for every member."""
    if not row.group_key:
        return None
    return f"{row.due_date:%Y%m%d}{row.due_time:%H%M}" if row.due_time else f"{row.due_date:%Y%m%d}"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
