"""One dispatcher tick inside one Prefect flow run: what is due becomes outbox rows, then
the outbox is claimed and sent in batches, each batch split into the send tasks of its
steps (``fagmentor · opstartsmøde · send``). Prefect runs per tick: one flow run, a few
task runs per batch — never one per mail.

Safe to run twice at once or again after a crash: rows are leased (``dispatch.claim``;
``SKIP LOCKED`` on PostgreSQL, for ``IBA_DISPATCH_LEASE_SECONDS``), a row is sent only
under its lease and marked sent right after the SMTP server accepted it. A send task that
left rows ``failed`` raises (visible as *Failed* in the UI) and is not retried by Prefect:
those rows wait in the outbox as the one retry policy (``mail.backoff``) says, and a later
tick sends them. The numbers of the tick come from the store (the truth), not from the
tasks.

Prefect is imported inside the functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from iba_workflow.dispatch import (
    DeliveryReport,
    TickReport,
    claim,
    deliver,
    enqueue_digests,
    enqueue_due,
)
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.requests import pending_requests
from iba_workflow.store.tables import EnrollmentRow, OutboxRow, StepInstanceRow

from .runtime import Runtime

MAX_BATCHES_PER_TICK = 1000
ARTIFACT_KEY = "dispatch-tick"
StepKey = tuple[str, str | None]  # (definition id, step id)


class SendsFailed(Exception):
    """Some mails of a send task were not accepted by the SMTP server (the outbox retries
    them as its policy says; Prefect does not)."""


@dataclass(frozen=True)
class TickResult:
    report: TickReport
    owner: str

    @property
    def failed(self) -> int:
        return self.report.totals.failed + self.report.totals.dead


def group_by_step(
    session_factory: SessionFactory, outbox_ids: Sequence[int]
) -> dict[StepKey, list[int]]:
    """Claimed outbox ids by (definition id, step id), in id order."""
    groups: dict[StepKey, list[int]] = {}
    with session_factory() as session:
        rows = session.exec(
            select(OutboxRow.id, EnrollmentRow.definition_id, StepInstanceRow.step_id)
            .outerjoin(EnrollmentRow, col(EnrollmentRow.id) == OutboxRow.enrollment_id)
            .outerjoin(StepInstanceRow, col(StepInstanceRow.id) == OutboxRow.step_instance_id)
            .where(col(OutboxRow.id).in_(list(outbox_ids)))
            .order_by(col(OutboxRow.id))
        ).all()
    for outbox_id, definition_id, step_id in rows:
        assert outbox_id is not None  # a primary key
        groups.setdefault((definition_id or "-", step_id), []).append(outbox_id)
    return groups


def final_outcomes(session_factory: SessionFactory, outbox_ids: Sequence[int]) -> DeliveryReport:
    """What became of claimed rows, read from the store."""
    report = DeliveryReport()
    with session_factory() as session:
        rows = session.exec(
            select(OutboxRow.status, EnrollmentRow.definition_id)
            .outerjoin(EnrollmentRow, col(EnrollmentRow.id) == OutboxRow.enrollment_id)
            .where(col(OutboxRow.id).in_(list(outbox_ids)))
        ).all()
    for status, definition_id in rows:
        outcome = status if status in ("sent", "failed", "dead") else "lost_lease"
        report.count(definition_id or "-", outcome)
    return report


async def send_outbox_rows(outbox_ids: list[int], owner: str) -> dict[str, int]:
    """Body of every ``… · send`` task: deliver the claimed rows; raise if some failed
    (they are retried by the outbox's policy on a later tick, not by Prefect)."""
    from prefect import get_run_logger

    from .runtime import runtime

    rt = runtime()
    ctx = rt.context(channel="dispatcher", actor="dispatcher")
    ids = list(outbox_ids)
    report = await deliver(
        ids, session_factory=rt.session_factory, ctx=ctx, settings=rt.settings, owner=owner
    )
    counts = {
        "sent": report.sent,
        "failed": report.failed,
        "dead": report.dead,
        "skipped": report.skipped,
        "lost_lease": report.lost_lease,
    }
    get_run_logger().info("%s of %d", ", ".join(f"{k} {v}" for k, v in counts.items()), len(ids))
    if report.failed:
        raise SendsFailed(f"{report.failed} of {len(ids)} mails not accepted by the SMTP server")
    return counts


async def run_tick(
    rt: Runtime,
    *,
    owner: str,
    send_task_for: Any,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
) -> TickResult:
    """Enqueue what is due (and this week's digests), then claim and send batches until
    nothing is sendable.
    ``send_task_for(definition_id, step_id)`` gives the compiled send task."""
    from prefect import get_run_logger

    logger = get_run_logger()
    ctx = rt.context(channel="dispatcher", actor="dispatcher")
    lease = lease_seconds or rt.settings.dispatch_lease_seconds
    limit = batch_size or rt.settings.dispatch_batch_size
    lead = rt.settings.new_task_lead_days
    report = TickReport(due=enqueue_due(rt.session_factory, ctx, lead_days=lead))
    report.digests = enqueue_digests(rt.session_factory, ctx, rt.settings)  # digests, bundles
    for _ in range(MAX_BATCHES_PER_TICK):
        ids = claim(
            rt.session_factory,
            owner=owner,
            now=ctx.now(),
            limit=limit,
            lease_seconds=lease,
            max_attempts=rt.settings.mail_max_attempts,
        )
        if not ids:
            break
        report.batches += 1
        for (definition_id, step_id), group in group_by_step(rt.session_factory, ids).items():
            task = send_task_for(definition_id, step_id)
            await task(outbox_ids=group, owner=owner, return_state=True)
        report.delivery.add(final_outcomes(rt.session_factory, ids))
    logger.info("tick: %s (%d batches)", report.summary(), report.batches)
    return TickResult(report=report, owner=owner)


def reannounce_stale_requests(rt: Runtime, *, older_than_seconds: float) -> int:
    """The safety net of the event path: a visitation request still unprocessed after
    ``older_than_seconds`` (its event was lost, or arrived before ``iba serve`` had
    registered its trigger) is announced again. Processing is idempotent."""
    from .serving import emit_visitation_created

    now = rt.context().now()
    with rt.session_factory() as session:
        stale = pending_requests(
            session, received_before=now - dt.timedelta(seconds=older_than_seconds)
        )
    for key, definition_id in stale:
        emit_visitation_created(request_id=key, definition_id=definition_id)
    return len(stale)


async def publish_tick(result: TickResult) -> None:
    """The tick's table artifact (counts per intervention; no personal data)."""
    from prefect.artifacts import acreate_table_artifact

    await acreate_table_artifact(
        key=ARTIFACT_KEY,
        table=result.report.rows(),
        description=f"Dispatcher tick: {result.report.summary()}",
    )
