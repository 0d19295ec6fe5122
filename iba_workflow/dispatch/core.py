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
    mark_sent_many,
)
from iba_workflow.store.queries import due_steps
from iba_workflow.store.tables import EnrollmentRow, OutboxRow

from .batch import MEETING_KIND, SIGN_IN_KIND, compose_batch, intervention_of
from .compose import Composed, DefinitionCache, Skipped, compose
from .digest import DIGEST_KIND, compose_digest, enqueue_digests
from .reports import DeliveryReport, DueReport, InterventionCounts, TickReport

log = logging.getLogger("iba_workflow.dispatch")

DUE_KINDS = {"new_task": "new_tasks", "reminder": "reminders", "escalation": "escalations"}
MAX_BATCHES_PER_TICK = 1000
#: The batch's mails the server has accepted are marked sent together, one commit per
#: this many: a crash between the server's answer and that commit sends at most this
#: many again, each with its stable Message-ID (``mail.message.message_id``), which
#: mail clients show once. One commit per mail cost ~15 % of a mail's CPU.
SENT_GROUP = 20


def enqueue_due(
    session_factory: SessionFactory, ctx: EngineContext, *, lead_days: int = 0
) -> DueReport:
    """Mark today's steps due and write new-task, reminder and escalation rows (engine,
    idempotent), and count them per intervention."""
    with session_factory() as session:
        today = ctx.today()
        report = DueReport()
        steps = due_steps(session, today, lead_days=lead_days)
        names = dict(
            session.exec(
                select(EnrollmentRow.id, EnrollmentRow.definition_id).where(
                    col(EnrollmentRow.id).in_({s.enrollment_id for s in steps})
                )
            ).all()
        )
        for step in steps:
            name = names.get(step.enrollment_id, "-")
            report.by_intervention.setdefault(name, InterventionCounts()).due += 1
        before = session.exec(select(func.max(OutboxRow.id))).one() or 0
        session.rollback()
        engine_report = enqueue_due_notifications(session, ctx, lead_days=lead_days)
        session.commit()  # the dispatcher is the caller: it owns this transaction
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
    renderer = renderer or MailRenderer(settings.templates_dir or paths.templates_dir())
    mailer = mailer or SmtpMailer.from_settings(settings)
    definitions = DefinitionCache()
    ready = compose_batch(
        outbox_ids,
        session_factory=session_factory,
        ctx=ctx,
        settings=settings,
        owner=owner,
        renderer=renderer,
        definitions=definitions,
    )
    accepted: list[tuple[int, str]] = []  # sent; recorded together (SENT_GROUP)
    async with mailer.session() as outgoing:
        try:
            for outbox_id in outbox_ids:
                built, name = ready.get(outbox_id, (None, ""))
                if isinstance(built, Composed):
                    outcome = await _send_composed(
                        outbox_id, built, owner, ctx, outgoing, settings, session_factory
                    )
                    if outcome is None:  # the server has it: recorded with its group
                        accepted.append((outbox_id, name))
                        if len(accepted) >= SENT_GROUP:
                            _record_sent(session_factory, accepted, owner, ctx, report)
                        continue
                elif built is not None:
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
        finally:  # what the server accepted is recorded, whatever stopped the batch
            _record_sent(session_factory, accepted, owner, ctx, report)
    return report


async def _send_composed(
    outbox_id: int,
    built: Composed,
    owner: str,
    ctx: EngineContext,
    outgoing: OutgoingMail,
    settings: Settings,
    session_factory: SessionFactory,
) -> str | None:
    """Send a mail of the batch: None when the server accepted it (the caller records
    it with its group), else the failure's outcome, recorded now."""
    try:
        await outgoing.send(built.message, recipients=built.recipients)
    except MailSendError as exc:
        log.warning("outbox %s not sent: %s", outbox_id, exc.message)
        with session_factory() as session:
            return _failed(session, outbox_id, owner, ctx, settings, exc.message, not exc.transient)
    return None


def _record_sent(
    session_factory: SessionFactory,
    accepted: list[tuple[int, str]],
    owner: str,
    ctx: EngineContext,
    report: DeliveryReport,
) -> None:
    """Mark the accepted mails sent in one commit, count them, and empty ``accepted``."""
    if not accepted:
        return
    with session_factory() as session:
        done = mark_sent_many(session, [i for i, _name in accepted], owner, ctx.now())
    for outbox_id, name in accepted:
        report.count(name, "sent" if outbox_id in done else "lost_lease")
    accepted.clear()


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
        name = DIGEST_TEMPLATE if digest else intervention_of(session, row.enrollment_id)
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
    renderer = renderer or MailRenderer(settings.templates_dir or paths.templates_dir())
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
