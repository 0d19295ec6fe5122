"""The dispatcher's steps: enqueue what is due, claim outbox rows, deliver them, and a
tick that does all three. Store work is synchronous (short transactions); only SMTP is
awaited. A batch is delivered through one :class:`~iba_workflow.mail.mailer.Mailer`
session (one SMTP connection); a failed mail waits as the one retry policy
(``mail.backoff``) says."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from iba_workflow import paths
from iba_workflow.engine import EngineContext, enqueue_due_notifications
from iba_workflow.errors import IbaError, MailSendError
from iba_workflow.mail import DIGEST_TEMPLATE, MailRenderer
from iba_workflow.mail.backoff import BackoffPolicy
from iba_workflow.mail.mailer import Mailer, OutgoingMail, SmtpMailer
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.outbox import (
    DEFAULT_MAX_ATTEMPTS,
    claim_outbox_batch,
    mark_failed,
    mark_sent,
)
from iba_workflow.store.rows import CHUNK
from iba_workflow.store.tables import EnrollmentRow, OutboxRow, StaffRow, StepInstanceRow

from .compose import Composed, DefinitionCache, Skipped, compose
from .digest import DIGEST_KIND, compose_digest, enqueue_digests
from .reports import DeliveryReport, DueReport, InterventionCounts, TickReport

log = logging.getLogger("iba_workflow.dispatch")

SIGN_IN_KIND = "sign_in"  # identity.signin.SIGN_IN_KIND (not imported: no cycle)
MEETING_KIND = "schedule_meeting"  # schedule.meeting_outbox.MEETING_KIND (issue 12)
DUE_KINDS = {"new_task": "new_tasks", "reminder": "reminders", "escalation": "escalations"}
MAX_BATCHES_PER_TICK = 1000


def enqueue_due(
    session_factory: SessionFactory, ctx: EngineContext, *, lead_days: int = 0
) -> DueReport:
    """Mark today's steps due and write new-task, reminder and escalation rows (engine,
    idempotent), and count them per intervention."""
    with session_factory() as session:
        report = DueReport()
        before = session.exec(select(func.max(OutboxRow.id))).one() or 0
        session.rollback()
        engine_report = enqueue_due_notifications(session, ctx, lead_days=lead_days)
        session.commit()  # the dispatcher is the caller: it owns this transaction
        became = engine_report.due_enrollments  # in the order the steps became due
        names: dict[int | None, str] = {}
        ids = sorted(set(became))
        for start in range(0, len(ids), CHUNK):
            for enrollment_id, name in session.exec(
                select(EnrollmentRow.id, EnrollmentRow.definition_id).where(
                    col(EnrollmentRow.id).in_(ids[start : start + CHUNK])
                )
            ):
                names[enrollment_id] = name
        for enrollment_id in became:
            name = names.get(enrollment_id, "-")
            report.by_intervention.setdefault(name, InterventionCounts()).due += 1
        report.became_due = engine_report.became_due
        report.new_tasks = engine_report.new_tasks
        report.reminders = engine_report.reminders
        report.escalations = engine_report.escalations
        rows = session.exec(
            select(OutboxRow.kind, EnrollmentRow.definition_id)
            .join(EnrollmentRow, col(EnrollmentRow.id) == OutboxRow.enrollment_id)
            .where(col(OutboxRow.id) > before, col(OutboxRow.kind).in_(DUE_KINDS))
        ).all()
        for (kind, name), n in Counter(rows).items():
            counts = report.by_intervention.setdefault(name, InterventionCounts())
            setattr(counts, DUE_KINDS[kind], getattr(counts, DUE_KINDS[kind]) + n)
    return report


def claim(
    session_factory: SessionFactory,
    *,
    owner: str,
    now: dt.datetime,
    limit: int = 100,
    lease_seconds: int,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[int]:
    """Lease up to ``limit`` sendable outbox rows to ``owner``; their ids, oldest first."""
    with session_factory() as session:
        rows = claim_outbox_batch(
            session, owner, now, limit, lease_seconds, max_attempts=max_attempts
        )
        return [r.id for r in rows if r.id is not None]


async def deliver(
    outbox_ids: Sequence[int],
    *,
    session_factory: SessionFactory,
    ctx: EngineContext,
    settings: Settings,
    owner: str,
    renderer: MailRenderer | None = None,
    mailer: Mailer | None = None,
) -> DeliveryReport:
    """Send each claimed row once, all through one session of ``mailer`` (default: SMTP
    from the settings); a failure is recorded on its row and never stops the batch
    (transient: retried as ``mail.backoff`` says; permanent or too many tries: dead)."""
    report = DeliveryReport()
    if not outbox_ids:
        return report
    renderer = renderer or MailRenderer.for_folder(settings.templates_dir or paths.templates_dir())
    mailer = mailer or SmtpMailer.from_settings(settings)
    definitions = DefinitionCache()
    ready = _compose_batch(
        outbox_ids,
        session_factory=session_factory,
        ctx=ctx,
        settings=settings,
        owner=owner,
        renderer=renderer,
        definitions=definitions,
    )
    async with mailer.session() as outgoing:
        for outbox_id in outbox_ids:
            if outbox_id in ready:
                built, name = ready[outbox_id]
                with session_factory() as session:
                    outcome = await _send_built(
                        session, outbox_id, built, owner, ctx, outgoing, settings
                    )
            else:
                outcome, name = await _deliver_one(
                    outbox_id,
                    session_factory=session_factory,
                    ctx=ctx,
                    settings=settings,
                    owner=owner,
                    renderer=renderer,
                    outgoing=outgoing,
                    definitions=definitions,
                )
            report.count(name, outcome)
    return report


def _compose_batch(
    outbox_ids: Sequence[int],
    *,
    session_factory: SessionFactory,
    ctx: EngineContext,
    settings: Settings,
    owner: str,
    renderer: MailRenderer,
    definitions: DefinitionCache,
) -> dict[int, tuple[Composed | Skipped, str]]:
    """The batch's step mails built in one transaction: their links and SEQUENCEs are
    committed once, before any of them is sent (one commit per batch, not per mail).
    Digests, sign-in links, booked meetings and any batch with a mail that cannot be
    built go one by one (``_deliver_one``), so a refused mail is recorded on its own row."""
    built: dict[int, tuple[Composed | Skipped, str]] = {}
    with session_factory() as session:
        try:
            rows = _prefetch(session, outbox_ids)
            for outbox_id in outbox_ids:
                row = rows.get(outbox_id)
                if row is None or row.lease_owner != owner or row.status != "sending":
                    continue
                if row.kind in (DIGEST_KIND, SIGN_IN_KIND, MEETING_KIND):
                    continue  # composed by their own code, one by one
                mail = compose(
                    session,
                    row,
                    settings=settings,
                    renderer=renderer,
                    clock=ctx.clock,
                    today=ctx.today(),
                    definitions=definitions,
                    commit=False,
                )
                built[outbox_id] = (mail, _intervention_of(session, row.enrollment_id))
            session.commit()
        except Exception:  # the rows go one by one, each recording its own error
            session.rollback()
            return {}
    return built


def _prefetch(session: Session, outbox_ids: Sequence[int]) -> dict[int, OutboxRow]:
    """The batch's outbox rows, and the steps, staff and enrollments they name, in one
    query per kind: composing then finds them in the session (``session.get`` without SQL)."""
    rows = {
        r.id: r
        for r in session.exec(select(OutboxRow).where(col(OutboxRow.id).in_(outbox_ids)))
        if r.id is not None
    }
    step_ids = {r.step_instance_id for r in rows.values() if r.step_instance_id is not None}
    staff_ids = {r.recipient_staff_id for r in rows.values()}
    steps = session.exec(select(StepInstanceRow).where(col(StepInstanceRow.id).in_(step_ids))).all()
    enrollment_ids = {s.enrollment_id for s in steps} | {
        r.enrollment_id for r in rows.values() if r.enrollment_id is not None
    }
    held = [
        *steps,
        *session.exec(select(StaffRow).where(col(StaffRow.id).in_(staff_ids))),
        *session.exec(select(EnrollmentRow).where(col(EnrollmentRow.id).in_(enrollment_ids))),
    ]
    session.info["iba_prefetched"] = held  # the session's identity map holds them weakly
    return rows


async def _send_built(
    session: Session,
    outbox_id: int,
    built: Composed | Skipped,
    owner: str,
    ctx: EngineContext,
    outgoing: OutgoingMail,
    settings: Settings,
) -> str:
    """Send one built mail and record it (one commit: at most this mail repeats if the
    process dies between the server's answer and the commit)."""
    if not isinstance(built, Composed):
        mark_sent(session, outbox_id, owner, ctx.now())
        log.info("outbox %s not sent: %s", outbox_id, built.reason)
        return "skipped"
    try:
        await outgoing.send(built.message, recipients=built.recipients)
    except MailSendError as exc:
        log.warning("outbox %s not sent: %s", outbox_id, exc.message)
        return _failed(session, outbox_id, owner, ctx, settings, exc.message, not exc.transient)
    done = mark_sent(session, outbox_id, owner, ctx.now())
    return "sent" if done else "lost_lease"


async def _deliver_one(
    outbox_id: int,
    *,
    session_factory: SessionFactory,
    ctx: EngineContext,
    settings: Settings,
    owner: str,
    renderer: MailRenderer,
    outgoing: OutgoingMail,
    definitions: DefinitionCache,
) -> tuple[str, str]:
    with session_factory() as session:
        row = session.get(OutboxRow, outbox_id)
        if row is None or row.lease_owner != owner or row.status != "sending":
            return "lost_lease", ""
        digest = row.kind == DIGEST_KIND
        sign_in = row.kind == SIGN_IN_KIND
        name = DIGEST_TEMPLATE if digest else _intervention_of(session, row.enrollment_id)
        try:
            if row.kind == MEETING_KIND:  # a booked meeting (schedule): staff and contacts
                from iba_workflow.schedule.meeting_outbox import compose_meeting_mail

                built = compose_meeting_mail(session, row, settings=settings, clock=ctx.clock)
            elif sign_in:  # a sign-in link (identity); carries no step
                from iba_workflow.identity.signin import compose_sign_in

                built = compose_sign_in(
                    session, row, settings=settings, renderer=renderer, clock=ctx.clock
                )
            elif digest:
                built = compose_digest(
                    session,
                    row,
                    settings=settings,
                    renderer=renderer,
                    clock=ctx.clock,
                    definitions=definitions,
                )
            else:
                built = compose(
                    session,
                    row,
                    settings=settings,
                    renderer=renderer,
                    clock=ctx.clock,
                    today=ctx.today(),
                    definitions=definitions,
                )
        except IbaError as exc:  # a mail that cannot be built will not build next time
            session.rollback()
            log.warning("outbox %s cannot be built: %s", outbox_id, exc.message)
            return _failed(session, outbox_id, owner, ctx, settings, exc.message, True), name
        except Exception as exc:
            session.rollback()
            log.exception("outbox %s: unexpected error while building", outbox_id)
            error = f"unexpected {type(exc).__name__}"
            return _failed(session, outbox_id, owner, ctx, settings, error, False), name
        return await _send_built(session, outbox_id, built, owner, ctx, outgoing, settings), name


def _failed(
    session: object,
    outbox_id: int,
    owner: str,
    ctx: EngineContext,
    settings: Settings,
    error: str,
    permanent: bool,
) -> str:
    status = mark_failed(
        session,  # type: ignore[arg-type]
        outbox_id,
        owner,
        ctx.now(),
        error,
        policy=BackoffPolicy.from_settings(settings),
        permanent=permanent,
    )
    return {"dead": "dead", "failed": "failed"}.get(status or "", "lost_lease")


def _intervention_of(session: object, enrollment_id: int | None) -> str:
    if enrollment_id is None:
        return "-"
    enrollment = session.get(EnrollmentRow, enrollment_id)  # type: ignore[attr-defined]
    return enrollment.definition_id if enrollment is not None else "-"


async def run_tick(
    session_factory: SessionFactory,
    ctx: EngineContext,
    settings: Settings,
    *,
    owner: str,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
    renderer: MailRenderer | None = None,
    mailer: Mailer | None = None,
) -> TickReport:
    """enqueue_due and this week's digests, then claim and deliver batches until nothing
    is sendable now. Rows are leased for ``lease_seconds`` (default
    ``IBA_DISPATCH_LEASE_SECONDS``)."""
    report = TickReport(
        due=enqueue_due(session_factory, ctx, lead_days=settings.new_task_lead_days)
    )
    report.digests = enqueue_digests(session_factory, ctx, settings)
    renderer = renderer or MailRenderer.for_folder(settings.templates_dir or paths.templates_dir())
    limit = batch_size or settings.dispatch_batch_size
    mailer = mailer or SmtpMailer.from_settings(settings)
    for _ in range(MAX_BATCHES_PER_TICK):
        ids = claim(
            session_factory,
            owner=owner,
            now=ctx.now(),
            limit=limit,
            lease_seconds=lease_seconds or settings.dispatch_lease_seconds,
            max_attempts=settings.mail_max_attempts,
        )
        if not ids:
            break
        report.batches += 1
        report.delivery.add(
            await deliver(
                ids,
                session_factory=session_factory,
                ctx=ctx,
                settings=settings,
                owner=owner,
                renderer=renderer,
                mailer=mailer,
            )
        )
    log.info("dispatch tick: %s", report.summary())
    return report
