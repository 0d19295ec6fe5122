"""The morning digest per person, and bundles: how held notifications become mail.

``enqueue_digests(session_factory, ctx, settings) -> int`` runs on every dispatcher tick:

1. :func:`.route.route_outbox` routes what the engine wrote (``new`` rows).
2. On a working day of the person's municipality, on the first tick in working hours
   (``Settings.work_start``..``work_end``, Copenhagen), each active staff member gets
   **one** digest (message id ``digest/<date>/<staff id>``) when there is something in
   it: everything held for them since the last one (new tasks, reminders, escalations to
   them, meetings added/moved/cancelled, enrollments ended), and what the record says now:
   overdue tasks, tasks and meetings today and on the next working day, enrollments they
   coordinate that started since the previous working day. With nothing in it, no mail
   (a ``dropped`` row marks the day as done).
3. Later in working hours, what is held ``immediate`` for a person goes as one mail per
   person per tick: the row itself if it is one step notification, else a bundle.
4. Outside working hours nothing but urgent rows (routed ``pending`` at once) goes out.

Digests and bundles are outbox rows of kind ``digest`` whose payload lists the rows they
carry (status ``folded``, ``carried_by``) and the step ids of each section; they are
composed by :func:`.digest_compose.compose_digest`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.engine import EngineContext
from iba_workflow.engine.lifecycle import COORDINATOR_ROLE
from iba_workflow.engine.recipients import RecipientBook
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.outbox import enqueue
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    EnrollmentRow,
    OutboxRow,
    StaffRow,
    StepInstanceRow,
)

from .digest_compose import compose_digest
from .preferences import Preferences
from .route import BUNDLE_KIND, digest_message_id, hours_provider, route_outbox

DIGEST_KIND = BUNDLE_KIND
#: Step notifications that can go as a mail of their own (``dispatch.compose``).
STEP_KINDS = frozenset(
    {"new_task", "meeting_invitation", "reminder", "escalation", "change", "cancellation"}
)

__all__ = ["DIGEST_KIND", "compose_digest", "enqueue_digests", "make_bundle", "prepare_mail"]


@dataclass
class Agenda:
    """What the record says a person has: step ids per section, enrollment ids started."""

    overdue: list[int] = field(default_factory=list)
    today: list[int] = field(default_factory=list)
    tomorrow: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.overdue or self.today or self.tomorrow or self.started)


def collect_agendas(
    session: Session, today: dt.date, soon: dt.date, since: dt.date
) -> dict[int, Agenda]:
    """Per staff id: open tasks and meetings of active enrollments up to ``soon`` (the
    next working day), and enrollments coordinated that started in (``since``, today]."""
    agendas: dict[int, Agenda] = defaultdict(Agenda)
    book = RecipientBook(session)  # one query per kind of row, not per enrollment
    steps = session.exec(
        select(StepInstanceRow)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .where(
            EnrollmentRow.status == "active",
            col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
            StepInstanceRow.kind != "session",
            col(StepInstanceRow.due_date) <= soon,
        )
        .order_by(
            col(StepInstanceRow.due_date),
            col(StepInstanceRow.due_time).nulls_first(),
            col(StepInstanceRow.enrollment_id),
            col(StepInstanceRow.id),
        )
    ).all()
    book.load(step.enrollment_id for step in steps)
    for step in steps:
        people = book.of(step.enrollment_id).for_step(step)
        if step.due_date < today:
            if people:  # overdue: the assignee's, not every attendee's
                agendas[people[0]].overdue.append(step.id or 0)
            continue
        bucket = "today" if step.due_date == today else "tomorrow"
        for staff_id in people:
            getattr(agendas[staff_id], bucket).append(step.id or 0)
    started = session.exec(
        select(EnrollmentRow).where(
            EnrollmentRow.status == "active",
            col(EnrollmentRow.start) > since,
            col(EnrollmentRow.start) <= today,
        )
    ).all()
    book.load(enrollment.id or 0 for enrollment in started)
    for enrollment in started:
        coordinator = book.of(enrollment.id or 0).for_role(COORDINATOR_ROLE)
        if coordinator is not None:
            agendas[coordinator].started.append(enrollment.id or 0)
    return agendas


def make_bundle(
    session: Session, rows: Sequence[OutboxRow], *, now: dt.datetime, mode: str
) -> OutboxRow | None:
    """One mail that carries ``rows`` (all for the same person), sendable now."""
    staff_id = rows[0].recipient_staff_id
    carrier = enqueue(
        session,
        message_id=f"samlet/{rows[0].id}/{staff_id}",
        kind=DIGEST_KIND,
        recipient_staff_id=staff_id,
        now=now,
        payload={
            "mode": mode,
            "day": now.astimezone(COPENHAGEN).date().isoformat(),
            "items": [r.id for r in rows],
        },
    )
    if carrier is None:
        return None
    session.flush()
    for row in rows:
        row.status, row.carried_by = "folded", carrier.id
        session.add(row)
    return carrier


def enqueue_digests(
    session_factory: SessionFactory, ctx: EngineContext, settings: Settings | None = None
) -> int:
    """Route new rows, then write the digests and bundles due now; how many mails."""
    settings = settings or Settings()
    with session_factory() as session:
        made = prepare_mail(session, ctx, settings)
        try:
            session.commit()
        except IntegrityError:  # another dispatcher wrote the same digest first
            session.rollback()
            return 0
    return made


def prepare_mail(session: Session, ctx: EngineContext, settings: Settings) -> int:
    """Route new rows and write the digests and bundles due now (flushes, no commit)."""
    route_outbox(session, ctx, settings)
    return _make_mails(session, ctx, settings)


def _make_mails(session: Session, ctx: EngineContext, settings: Settings) -> int:
    now = ctx.now()
    today = now.astimezone(COPENHAGEN).date()
    hours_for = hours_provider(ctx, settings)
    staff = session.exec(
        select(StaffRow).where(StaffRow.active == True).order_by(col(StaffRow.id))  # noqa: E712
    ).all()
    staff = [person for person in staff if hours_for(person.municipality).is_open(now)]
    if not staff:  # outside everyone's working hours: what is held waits (not read)
        session.flush()
        return 0
    held: dict[int, list[OutboxRow]] = defaultdict(list)
    for row in session.exec(
        select(OutboxRow).where(OutboxRow.status == "held").order_by(col(OutboxRow.id))
    ):
        held[row.recipient_staff_id].append(row)
    agendas: dict[str, dict[int, Agenda]] = {}
    prefs = Preferences(session, settings.notify_default)
    prefs.load([person.id or 0 for person in staff])
    made_today = set(
        session.exec(
            select(OutboxRow.recipient_staff_id).where(
                col(OutboxRow.message_id).startswith(f"digest/{today.isoformat()}/")
            )
        ).all()
    )
    bundle = settings.notify_bundle
    made = 0
    for person in staff:
        staff_id = person.id or 0
        hours = hours_for(person.municipality)
        mine = held.get(staff_id, [])
        day_id = digest_message_id(today, staff_id)
        done = staff_id in made_today
        if done or not prefs.wants_digest(staff_id) or not bundle:
            made += _send_immediate(session, mine, now, bundle=bundle)
            if done or not prefs.wants_digest(staff_id):
                continue
            mine = [r for r in mine if r.payload.get("route") != "immediate"]
        if person.municipality not in agendas:
            soon = hours.next_working_day(today)
            since = hours.calendar.add_working_days(today, -1)
            agendas[person.municipality] = collect_agendas(session, today, soon, since)
        agenda = agendas[person.municipality].get(staff_id, Agenda())
        empty = agenda.empty() and not mine
        digest = enqueue(
            session,
            message_id=day_id,
            kind=DIGEST_KIND,
            recipient_staff_id=staff_id,
            now=now,
            payload={
                "mode": "digest",
                "day": today.isoformat(),
                "next_working_day": hours.next_working_day(today).isoformat(),
                "items": [r.id for r in mine],
                "overdue": agenda.overdue,
                "today": agenda.today,
                "tomorrow": agenda.tomorrow,
                "started": agenda.started,
            },
        )
        assert digest is not None
        if empty:
            digest.status, digest.last_error = "dropped", "nothing to tell today"
            session.add(digest)
            continue
        session.flush()
        for row in mine:
            row.status, row.carried_by = "folded", digest.id
            session.add(row)
        made += 1
    session.flush()
    return made


def _send_immediate(
    session: Session, rows: list[OutboxRow], now: dt.datetime, *, bundle: bool
) -> int:
    """What is held ``immediate`` for one person: one mail (the row itself, or a bundle);
    without ``bundle``, a mail per row."""
    ready = [r for r in rows if r.payload.get("route") == "immediate"]
    if not ready:
        return 0
    if not bundle:
        for row in ready:
            if row.kind in STEP_KINDS:
                row.status, row.next_attempt_at = "pending", now
                session.add(row)
            else:
                make_bundle(session, [row], now=now, mode="samlet")
        return len(ready)
    if len(ready) == 1 and ready[0].kind in STEP_KINDS:
        row = ready[0]
        row.status, row.next_attempt_at = "pending", now
        session.add(row)
        return 1
    return 1 if make_bundle(session, ready, now=now, mode="samlet") else 0
