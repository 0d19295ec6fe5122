"""Routing: what the engine wrote (outbox rows in status ``new``, one per event and
person) becomes, per person, part of the morning digest, a mail of its own, or nothing.

For each ``new`` row, in order:

- **dropped** when telling would be noise: a cancellation or change of something never
  announced to that person (their held item, if any, is dropped with a cancellation; the
  digest shows the current date of a moved one); a step cancelled by the end of its
  enrollment (the end is one message, ``enrollment_ended``); an end message to someone
  who neither coordinates the enrollment nor was ever told about it; a task already done.
- **urgent** (a mail at once, at any hour): a meeting today or on the next working day
  that moves or is cancelled, or an enrollment end that cancels such a meeting of theirs.
  An end that cancels meetings whose calendar REQUEST they hold is ``immediate``.
- otherwise **held**, with the person's choice for the kind (``digest`` or
  ``immediate``, :mod:`.preferences`); an item the next digest would bring too late
  (a meeting before the next morning, a task due before it) is held ``immediate``.

Held rows become mail in :mod:`.digest` (the morning digest, or one bundle per person per
tick in working hours). Engine functions only ever write ``new`` rows; this module flushes
and the dispatcher's caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.engine import EngineContext
from iba_workflow.engine.apply import is_meeting
from iba_workflow.engine.lifecycle import COORDINATOR_ROLE, ENDED_KIND
from iba_workflow.engine.recipients import CHUNK, RecipientBook
from iba_workflow.settings import Settings
from iba_workflow.store.tables import (
    DONE_STEP_STATUSES,
    EnrollmentRow,
    MeetingInvitationRow,
    OutboxRow,
    StaffRow,
    StepInstanceRow,
)

from .hours import WorkingHours
from .preferences import Preferences

#: Kinds that tell a person about a step (so a later change or cancellation may follow).
ANNOUNCING = ("new_task", "meeting_invitation", "change", "reminder", "escalation", "fresh_link")
#: Outbox statuses of a row that is (or will be) delivered.
LIVE = ("pending", "sending", "sent", "failed")
BUNDLE_KIND = "digest"  # digests and bundles are composed by dispatch.digest


@dataclass
class RouteReport:
    held: int = 0
    immediate: int = 0
    urgent: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class Decision:
    route: str  # drop / urgent / digest / immediate
    reason: str = ""


def hours_provider(ctx: EngineContext, settings: Settings) -> Callable[[str], WorkingHours]:
    found: dict[str, WorkingHours] = {}

    def provide(municipality: str) -> WorkingHours:
        if municipality not in found:
            found[municipality] = WorkingHours(
                ctx.calendars(municipality),
                settings.work_start,
                settings.work_end,
                always=not settings.notify_quiet_hours,
            )
        return found[municipality]

    return provide


def digest_message_id(day: dt.date, staff_id: int) -> str:
    return f"digest/{day.isoformat()}/{staff_id}"


def next_digest_at(
    session: Session,
    hours: WorkingHours,
    staff_id: int,
    now: dt.datetime,
    *,
    made_today: set[int] | None = None,
) -> dt.datetime:
    """When this person's next morning digest goes out (``made_today``: the staff ids
    whose digest of today exists, when the caller has read them already)."""
    today = now.astimezone(COPENHAGEN).date()
    if hours.calendar.is_working_day(today):
        if made_today is not None:
            made = staff_id in made_today
        else:
            made = (
                session.exec(
                    select(OutboxRow.id).where(
                        OutboxRow.message_id == digest_message_id(today, staff_id)
                    )
                ).first()
                is not None
            )
        if not made and now < hours.end_of(today):
            return hours.next_open(now)
    return hours.next_open(hours.end_of(today))


def announced(session: Session, step_id: int | None, staff_id: int) -> bool:
    """Was (or is about to be) this person told about this step, by mail or digest?"""
    if step_id is None:
        return False
    rows = session.exec(
        select(OutboxRow).where(
            OutboxRow.step_instance_id == step_id,
            OutboxRow.recipient_staff_id == staff_id,
            col(OutboxRow.kind).in_(ANNOUNCING),
            col(OutboxRow.status).in_((*LIVE, "folded")),
        )
    ).all()
    for row in rows:
        if row.status in LIVE:
            return True
        carrier = session.get(OutboxRow, row.carried_by) if row.carried_by else None
        if carrier is not None and carrier.status in LIVE:
            return True
    return False


def request_sent(session: Session, step_id: int, staff_id: int) -> bool:
    """Did this person receive a calendar REQUEST for this meeting (and no CANCEL yet)?"""
    state = session.exec(
        select(MeetingInvitationRow).where(
            MeetingInvitationRow.step_instance_id == step_id,
            MeetingInvitationRow.staff_id == staff_id,
        )
    ).first()
    return state is not None and state.method == "REQUEST"


def _drop_held(session: Session, step_id: int, staff_id: int, reason: str) -> None:
    for row in session.exec(
        select(OutboxRow).where(
            OutboxRow.step_instance_id == step_id,
            OutboxRow.recipient_staff_id == staff_id,
            col(OutboxRow.status).in_(("new", "held")),
        )
    ):
        row.status, row.last_error = "dropped", reason
        session.add(row)


class Router:
    def __init__(self, session: Session, ctx: EngineContext, settings: Settings) -> None:
        self.session = session
        self.now = ctx.now()
        self.today = self.now.astimezone(COPENHAGEN).date()
        self.prefs = Preferences(session, settings.notify_default)
        self.hours = hours_provider(ctx, settings)
        self.book = RecipientBook(session)
        self._kept: list[object] = []  # rows read ahead stay in the identity map
        self._digests_today: set[int] | None = None

    def read_ahead(self, rows: Sequence[OutboxRow]) -> None:
        """The steps, enrollments and staff ``rows`` name, one query per kind of row
        (``session.get`` then finds them in the identity map)."""
        if not rows:
            return
        s = self.session
        self._kept.extend(s.exec(select(StaffRow)).all())
        step_ids = sorted({r.step_instance_id for r in rows if r.step_instance_id})
        for start in range(0, len(step_ids), CHUNK):
            chunk = step_ids[start : start + CHUNK]
            self._kept.extend(
                s.exec(select(StepInstanceRow).where(col(StepInstanceRow.id).in_(chunk))).all()
            )
        self.book.load(r.enrollment_id for r in rows if r.enrollment_id)

    def digests_today(self) -> set[int]:
        """Staff ids whose digest of today is written (routing writes none)."""
        if self._digests_today is None:
            prefix = f"digest/{self.today.isoformat()}/"
            self._digests_today = set(
                self.session.exec(
                    select(OutboxRow.recipient_staff_id).where(
                        col(OutboxRow.message_id).startswith(prefix)
                    )
                ).all()
            )
        return self._digests_today

    def coordinator(self, enrollment: EnrollmentRow) -> int | None:
        return self.book.of(enrollment.id or 0).for_role(COORDINATOR_ROLE)

    def decide(self, row: OutboxRow, staff: StaffRow) -> Decision:
        s = self.session
        hours = self.hours(staff.municipality)
        soon = hours.next_working_day(self.today)  # "tomorrow" in working days
        staff_id = staff.id or 0
        step = s.get(StepInstanceRow, row.step_instance_id) if row.step_instance_id else None
        enrollment = s.get(EnrollmentRow, row.enrollment_id) if row.enrollment_id else None
        mode = self.prefs.mode(staff_id, row.kind)
        if row.kind == ENDED_KIND:
            assert enrollment is not None
            ids = [int(i) for i in row.payload.get("cancelled_steps", [])]
            told = [i for i in ids if announced(s, i, staff_id)]
            for step_id in ids:
                _drop_held(s, step_id, staff_id, "cancelled before it was announced")
            if not told and self.coordinator(enrollment) != staff_id:
                return Decision("drop", "nothing about this enrollment was announced to them")
            for step_id in told:
                cancelled = s.get(StepInstanceRow, step_id)
                if cancelled is not None and is_meeting(cancelled) and cancelled.due_date <= soon:
                    return Decision("urgent", "a meeting today or tomorrow is cancelled")
            if any(request_sent(s, step_id, staff_id) for step_id in told):
                return Decision("immediate", "their calendar holds meetings to cancel")
            return Decision(mode)
        if step is None:
            return Decision("drop", "no step")
        if row.kind == "cancellation":
            if enrollment is not None and enrollment.status in ("ended", "exited"):
                return Decision("drop", "in the message that the enrollment ended")
            if not announced(s, step.id, staff_id):
                _drop_held(s, step.id or 0, staff_id, "cancelled before it was announced")
                return Decision("drop", "never announced to them")
            if is_meeting(step) and self.today <= step.due_date <= soon:
                return Decision("urgent", "a meeting today or tomorrow is cancelled")
            return Decision(mode)
        if step.status in DONE_STEP_STATUSES:
            return Decision("drop", f"step is {step.status}")
        if row.kind == "change":
            if not announced(s, step.id, staff_id):
                return Decision("drop", "never announced to them; the digest shows the new date")
            old = row.payload.get("old_date")
            dates = [step.due_date, *([dt.date.fromisoformat(old)] if old else [])]
            if is_meeting(step) and any(self.today <= d <= soon for d in dates):
                return Decision("urgent", "a meeting today or tomorrow moved")
            return Decision(mode)
        next_digest = (
            next_digest_at(s, hours, staff_id, self.now, made_today=self.digests_today())
            if mode == "digest"
            else None
        )
        if next_digest is not None and next_digest > self.deadline(step, hours):
            return Decision("immediate", "the next digest would come too late")
        return Decision(mode)

    def deadline(self, step: StepInstanceRow, hours: WorkingHours) -> dt.datetime:
        """A meeting's start; the end of a task's working day."""
        if is_meeting(step):
            at = dt.datetime.combine(step.due_date, step.due_time or hours.start, COPENHAGEN)
            return at.astimezone(dt.UTC)
        return hours.end_of(step.due_date)


def route_outbox(session: Session, ctx: EngineContext, settings: Settings) -> RouteReport:
    """Route every ``new`` outbox row (flushes; the caller commits). Urgent end messages
    get a bundle row of their own (composed by :mod:`.digest`)."""
    from .digest import make_bundle

    router = Router(session, ctx, settings)
    report = RouteReport()
    rows = session.exec(
        select(OutboxRow).where(OutboxRow.status == "new").order_by(col(OutboxRow.id))
    ).all()
    router.read_ahead(rows)
    for row in rows:
        if row.status != "new":  # dropped with an earlier cancellation
            continue
        staff = session.get(StaffRow, row.recipient_staff_id)
        decision = (
            Decision("drop", "no active recipient")
            if staff is None or not staff.active
            else router.decide(row, staff)
        )
        if decision.route == "drop":
            row.status, row.last_error = "dropped", decision.reason
            report.dropped += 1
        elif decision.route == "urgent":
            row.payload = {**row.payload, "route": "urgent"}
            report.urgent += 1
            if row.kind == ENDED_KIND:
                make_bundle(session, [row], now=router.now, mode="samlet")
            else:
                row.status, row.next_attempt_at = "pending", router.now
        else:
            row.status = "held"
            row.payload = {**row.payload, "route": decision.route}
            if decision.route == "immediate":
                report.immediate += 1
            else:
                report.held += 1
        session.add(row)
    session.flush()  # one batch of UPDATEs (queries above autoflush what they need)
    return report
