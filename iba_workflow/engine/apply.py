"""Writing a target plan into the record: step instances, and the notifications the
change causes, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlmodel import Session, col, select

from iba_workflow.store.queries import group_id
from iba_workflow.store.records import pk
from iba_workflow.store.rows import (
    enqueue_many,
    insert_returning,
    outbox_values,
    recipient_rows,
)
from iba_workflow.store.tables import (
    EnrollmentRow,
    StepInstanceRow,
)

from .context import EngineContext
from .target import ImpactLine, TargetStep


class StepFacts(Protocol):
    """What notifications read of a step: a :class:`StepInstanceRow`, or the row an
    ``INSERT … RETURNING`` gave back (``store.rows.insert_returning``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def enrollment_id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def due_date(self) -> dt.date: ...
    @property
    def due_time(self) -> dt.time | None: ...
    @property
    def template(self) -> str | None: ...
    @property
    def assignee_role(self) -> str: ...
    @property
    def assigned_staff_id(self) -> int | None: ...
    @property
    def attendee_roles(self) -> list[str]: ...
    @property
    def group_key(self) -> str | None: ...
    @property
    def revision(self) -> int: ...


class StaffFacts(Protocol):
    """What :class:`Recipients` reads of a staff member: a :class:`StaffRow` or a row."""

    @property
    def id(self) -> int | None: ...
    @property
    def roles(self) -> list[str]: ...


class Recipients:
    """Role → staff member for one enrollment: an explicit assignment, else the first
    active staff member of the municipality who holds the role. External roles
    (company manager, VUC) usually have nobody, and are then not mailed."""

    def __init__(
        self, session: Session, enrollment: EnrollmentRow, *, on: dt.date | None = None
    ) -> None:
        # three plain statements (store.rows): the rows are only read, never changed
        assigned, cover, staff = recipient_rows(session, enrollment.id, enrollment.municipality, on)
        self._assigned: dict[str, int] = dict(assigned)
        #: who covers whom on ``on`` (``staff_cover``): their tasks go to the colleague
        self._cover: dict[int, int] = {}
        for staff_id, cover_staff_id in cover:
            self._cover[staff_id] = cover_staff_id
        self._staff: Sequence[StaffFacts] = staff

    @classmethod
    def from_loaded(
        cls, assigned: dict[str, int], cover: dict[int, int], staff: Sequence[StaffFacts]
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

    def for_step(self, row: StepFacts) -> list[int]:
        """The assignee, plus for meetings every attendee who is staff."""
        found: list[int] = []
        first = self.covered(row.assigned_staff_id) or self.for_role(row.assignee_role)
        roles = [row.assignee_role, *row.attendee_roles] if is_meeting(row) else []
        for staff_id in [first, *(self.for_role(r) for r in roles)]:
            if staff_id is not None and staff_id not in found:
                found.append(staff_id)
        return found


def is_meeting(row: StepFacts) -> bool:
    return row.kind == "meeting" or bool(row.attendee_roles)


def calendar_id(row: StepInstanceRow) -> str | int:
    """What a meeting's calendar UID is made from: the group occurrence of a per_group
    step (one event for the whole group), else the step instance."""
    return group_id(row.group_key) if row.group_key else (row.id or 0)


def live_group_members(session: Session, row: StepInstanceRow) -> int:
    """How many other open instances share ``row``'s group occurrence."""
    return live_members(session, row.id, row.group_key)


def live_members(session: Session, step_id: int | None, group_key: str | None) -> int:
    """How many open instances but ``step_id`` share the group occurrence ``group_key``."""
    if not group_key:
        return 0
    return len(
        session.exec(
            select(StepInstanceRow.id).where(
                StepInstanceRow.group_key == group_key,
                StepInstanceRow.id != step_id,
                col(StepInstanceRow.status).in_(("planned", "due", "notified")),
            )
        ).all()
    )


def announced(row: StepInstanceRow) -> bool:
    """Has anyone been told about this step yet?"""
    return row.kind != "session" and (is_meeting(row) or row.status in ("due", "notified"))


def step_payload(row: StepFacts, **extra: Any) -> dict[str, Any]:
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
    return enqueue_many(session, notifications(ctx, row, kind, recipients, tag=tag, **extra))


def notifications(
    ctx: EngineContext,
    row: StepFacts,
    kind: str,
    recipients: Iterable[int],
    *,
    tag: str,
    **extra: Any,
) -> list[dict[str, Any]]:
    """The outbox rows :func:`notify` writes (those not written before)."""
    subject = group_id(row.group_key) if row.group_key else row.id
    return [
        outbox_values(
            message_id=f"{kind}/{subject}/{tag}/{staff_id}",
            kind=kind,
            recipient_staff_id=staff_id,
            now=ctx.now(),
            step_instance_id=row.id,
            enrollment_id=row.enrollment_id,
            payload=step_payload(row, **extra),
            status="new",
        )
        for staff_id in recipients
    ]


def _plan_fields(t: TargetStep, recipients: Recipients) -> dict[str, Any]:
    """The columns of a step row that its plan fixes."""
    s = t.step
    return {
        "step_id": s.step_id,
        "kind": s.kind,
        "name": s.name,
        "period": s.period,
        "branch": f"{s.branch[0]}:{s.branch[1]}" if s.branch else None,
        "due_date": t.date,
        "due_time": s.time,
        "assignee_role": s.assignee,
        "assigned_staff_id": recipients.for_role(s.assignee),
        "attendee_roles": list(s.attendees),
        "depends_on": list(s.depends_on),
        "reminders": [d.isoformat() for d in t.reminders],
        "remind_from": min(t.reminders) if t.reminders else None,
        "next_reminder": min(t.reminders) if t.reminders else None,  # none handled yet
        "escalation_date": t.escalation[0] if t.escalation else None,
        "escalation_role": t.escalation[1] if t.escalation else None,
        "template": s.template,
        "group_key": s.group,
    }


def _fill(row: StepInstanceRow, t: TargetStep, recipients: Recipients) -> None:
    for name, value in _plan_fields(t, recipients).items():
        setattr(row, name, value)


def rows_by_id(session: Session, ids: Sequence[int | None]) -> list[StepInstanceRow]:
    """The step row objects with these ids (those the session holds, without a read)."""
    if not ids:
        return []
    return list(session.exec(select(StepInstanceRow).where(col(StepInstanceRow.id).in_(ids))))


def apply_target(
    session: Session,
    ctx: EngineContext,
    enrollment: EnrollmentRow,
    instances: Sequence[Any],
    target: Mapping[str, TargetStep],
    lines: Sequence[ImpactLine],
) -> None:
    """Write ``lines`` (from :func:`diff_instances`) and their notifications.

    Rows are changed line by line; steps new to the record are inserted together, with
    one statement (``store.rows.insert_returning``: no row objects, no flush per row),
    and the notifications are then made in the order of the lines and written with one
    look-up and one insert (``store.rows.enqueue_many``)."""
    now = ctx.now()
    loaded: list[Recipients] = []

    def recipients() -> Recipients:  # read only when a line needs it
        if not loaded:
            loaded.append(Recipients(session, enrollment, on=ctx.today()))
        return loaded[0]

    # ``instances`` may be plain rows (``lifecycle.instance_facts``): the objects of the
    # rows that change (a line, or reminder dates to keep current) are loaded here, once.
    facts = {row.key: row for row in instances}
    reminders_now: dict[str, list[str]] = {}
    for key, t in target.items():  # keep reminder dates current for unchanged steps
        known = facts.get(key)
        if known is not None and known.status in ("planned", "due", "notified"):
            reminders = [d.isoformat() for d in t.reminders]
            if known.reminders != reminders:
                reminders_now[key] = reminders
    changing = [
        facts[k].id for k in {line.key for line in lines} | set(reminders_now) if k in facts
    ]
    by_key = {row.key: row for row in rows_by_id(session, changing)}
    fresh: list[dict[str, Any]] = []  # new rows not inserted yet
    inserted: dict[str, StepFacts] = {}  # new rows by key, as inserted

    def insert_fresh() -> None:
        session.flush()  # the changes of the lines before them go first, as before
        inserted.update((r.key, r) for r in insert_returning(session, StepInstanceRow, fresh))
        fresh.clear()

    #: (row or a new row's key, kind, tag, extra) per notification, in the order of lines
    told: list[tuple[StepInstanceRow | str, str, str, dict[str, Any]]] = []
    for line in lines:
        row = by_key.get(line.key)
        if line.change == "added":
            if row is None:
                new = _plan_fields(target[line.key], recipients())
                new.update(enrollment_id=pk(enrollment), key=line.key, status="planned")
                fresh.append(new | {"revision": 1, "created_at": now, "updated_at": now})
                if new["kind"] == "meeting" or new["attendee_roles"]:  # is_meeting
                    told.append((line.key, "meeting_invitation", "", {}))
                continue
            row.revision += 1
            _fill(row, target[line.key], recipients())
            row.status, row.updated_at = "planned", now
            session.add(row)
            if is_meeting(row):
                told.append((row, "meeting_invitation", "", {}))
        elif line.change == "moved":
            assert row is not None
            was_told = announced(row)
            row.revision += 1
            _fill(row, target[line.key], recipients())
            row.updated_at = now
            session.add(row)
            if was_told:
                told.append((row, "change", "", {"old_date": _iso(line.old_date)}))
        elif line.change == "cancelled":
            assert row is not None
            row.status, row.updated_at = "cancelled", now
            session.add(row)
            if row.kind != "session" and row.group_key and fresh:
                insert_fresh()  # the group's other members, as the record holds them now
            if row.kind != "session" and not live_group_members(session, row):
                told.append((row, "cancellation", f"r{row.revision}", {}))
    for key, reminders in reminders_now.items():
        row = by_key[key]
        row.reminders = reminders
        row.remind_from = min(target[key].reminders) if target[key].reminders else None
        row.next_reminder = row.remind_from  # handled again; a sent one is not sent twice
        session.add(row)
    insert_fresh()  # the new rows get their ids, which the notifications carry
    rows: list[dict[str, Any]] = []
    for which, kind, tag, extra in told:
        step = inserted[which] if isinstance(which, str) else which
        tag = tag or _group_tag(step) or f"r{step.revision}"
        rows += notifications(ctx, step, kind, recipients().for_step(step), tag=tag, **extra)
    enqueue_many(session, rows)
    session.flush()


def _group_tag(row: StepFacts) -> str | None:
    """A group occurrence's message tag: its time, the same for every member."""
    if not row.group_key:
        return None
    return f"{row.due_date:%Y%m%d}{row.due_time:%H%M}" if row.due_time else f"{row.due_date:%Y%m%d}"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
