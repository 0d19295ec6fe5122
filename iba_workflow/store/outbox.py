"""The outbox: notifications written in the same transaction as the change that causes
them, and claimed by dispatchers under a lease.

Claiming is safe with several dispatchers: PostgreSQL uses ``SELECT … FOR UPDATE SKIP
LOCKED``; SQLite serialises writers, so one conditional ``UPDATE … RETURNING`` is atomic.
A dispatcher that dies mid-send leaves a lease that expires; the row is claimed again
(at-least-once: the mail layer de-duplicates by the stable ``message_id``).
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

from sqlalchemy import and_, inspect, or_, select, text, update
from sqlmodel import Session, col

from iba_workflow.mail.backoff import BackoffPolicy, decide_after_failure

from .rows import outbox_values
from .tables import CLAIMABLE, OutboxRow, StepInstanceRow

DEFAULT_POLICY = BackoffPolicy()
DEFAULT_MAX_ATTEMPTS = DEFAULT_POLICY.max_attempts
MAX_ERROR_LENGTH = 500
_ADDED = "iba_outbox_added"  # session.info: rows enqueue added, by message id


def enqueue(
    session: Session,
    *,
    message_id: str,
    kind: str,
    recipient_staff_id: int,
    now: dt.datetime,
    step_instance_id: int | None = None,
    enrollment_id: int | None = None,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
) -> OutboxRow | None:
    """Add a notification unless one with the same ``message_id`` exists (then None).
    ``status="new"`` leaves it to ``dispatch.route`` (digest or mail, and when)."""
    # A duplicate is a row in the database (flushed in this transaction or committed) or
    # one added by this function and not yet flushed (kept by message id in the session's
    # info, weakly). The select does not autoflush: the rows of a transaction go in
    # together at its flush or commit, not one INSERT per row.
    added = session.info.setdefault(_ADDED, weakref.WeakValueDictionary())
    earlier = added.get(message_id)
    if earlier is not None and inspect(earlier).pending:
        return None
    with session.no_autoflush:
        exists = session.execute(
            select(OutboxRow.id).where(col(OutboxRow.message_id) == message_id)  # type: ignore[call-overload]
        ).first()
    if exists is not None:
        return None
    row = OutboxRow(  # the same columns enqueue_many writes
        **outbox_values(
            message_id=message_id,
            kind=kind,
            recipient_staff_id=recipient_staff_id,
            now=now,
            step_instance_id=step_instance_id,
            enrollment_id=enrollment_id,
            payload=payload,
            status=status,
        )
    )
    session.add(row)
    added[message_id] = row
    return row


def _claimable(now: dt.datetime) -> Any:
    """Sendable now. The first term is the condition of the partial index
    ``ix_outbox_claimable``, as a literal (SQLite and PostgreSQL then see that the index
    holds every row the claim may take, and read the claimable rows in id order from it:
    without it PostgreSQL read the primary key from the oldest row and filtered the whole
    sent history, and every dead version of it, on each claim)."""
    t = OutboxRow.__table__.c  # type: ignore[attr-defined]
    return and_(
        text(CLAIMABLE),
        or_(
            and_(t.status.in_(("pending", "failed")), t.next_attempt_at <= now),
            and_(t.status == "sending", t.lease_until < now),
        ),
    )


def claim_candidates(now: dt.datetime, limit: int, *, skip_locked: bool) -> Any:
    """The ids a claim takes: up to ``limit`` claimable rows, oldest first (PostgreSQL:
    ``FOR UPDATE SKIP LOCKED``, rows another dispatcher is claiming are passed over)."""
    t = OutboxRow.__table__.c  # type: ignore[attr-defined]
    candidates = select(t.id).where(_claimable(now)).order_by(t.id).limit(limit)
    return candidates.with_for_update(skip_locked=True) if skip_locked else candidates


def claim_outbox_batch(
    session: Session,
    owner: str,
    now: dt.datetime,
    limit: int = 100,
    lease_seconds: int = 300,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[OutboxRow]:
    """Lease up to ``limit`` sendable rows to ``owner`` and commit; returns them.

    Each claim counts as an attempt, so a message that kills its dispatcher every time
    ends up ``dead`` instead of looping forever.
    """
    t = OutboxRow.__table__.c  # type: ignore[attr-defined]
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    try:
        session.execute(
            update(table)
            .where(t.status == "sending", t.lease_until < now, t.attempts >= max_attempts)
            .values(status="dead", lease_owner=None, last_error="lease expired too often")
        )
        candidates = claim_candidates(
            now, limit, skip_locked=session.get_bind().dialect.name == "postgresql"
        )
        until = now + dt.timedelta(seconds=lease_seconds)
        claimed = (
            session.execute(
                update(table)
                .where(t.id.in_(candidates.scalar_subquery()), _claimable(now))
                .values(
                    status="sending",
                    lease_owner=owner,
                    lease_until=until,
                    attempts=t.attempts + 1,
                )
                .returning(t.id)
            )
            .scalars()
            .all()
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if not claimed:
        return []
    rows = (
        session.execute(
            select(OutboxRow)
            .where(col(OutboxRow.id).in_(claimed))
            .order_by(col(OutboxRow.id))
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    return list(rows)


def mark_sent(session: Session, outbox_id: int, owner: str, now: dt.datetime) -> bool:
    """Record a successful send (a new task's step becomes ``notified``). False (and no
    change) if the lease was lost."""
    t = OutboxRow.__table__.c  # type: ignore[attr-defined]
    done = session.execute(
        update(OutboxRow.__table__)  # type: ignore[attr-defined]
        .where(t.id == outbox_id, t.lease_owner == owner, t.status == "sending")
        .values(status="sent", sent_at=now, lease_owner=None, lease_until=None, last_error=None)
        .returning(t.kind, t.step_instance_id)
    ).first()
    if done is not None and done.kind == "new_task" and done.step_instance_id is not None:
        steps = StepInstanceRow.__table__.c  # type: ignore[attr-defined]
        session.execute(
            update(StepInstanceRow.__table__)  # type: ignore[attr-defined]
            .where(steps.id == done.step_instance_id, steps.status == "due")
            .values(status="notified")
        )
    session.commit()
    return done is not None


def mark_failed(
    session: Session,
    outbox_id: int,
    owner: str,
    now: dt.datetime,
    error: str,
    *,
    policy: BackoffPolicy = DEFAULT_POLICY,
    permanent: bool = False,
) -> str | None:
    """Record a failed send as the retry policy decides (``mail.backoff``): ``failed``
    until its ``next_attempt_at``, or ``dead`` after ``policy.max_attempts`` tries (at once
    if ``permanent``). Returns the new status, None if the lease was lost. ``error`` must
    not contain personal data."""
    row = session.get(OutboxRow, outbox_id)
    if row is None or row.lease_owner != owner or row.status != "sending":
        session.rollback()
        return None
    decision = decide_after_failure(
        attempts=row.attempts,
        message_id=row.message_id,
        now=now,
        policy=policy,
        permanent=permanent,
    )
    row.status = "dead" if decision.action == "dead_letter" else "failed"
    row.next_attempt_at = decision.retry_at or now
    row.lease_owner = None
    row.lease_until = None
    row.last_error = error[:MAX_ERROR_LENGTH]
    session.add(row)
    session.commit()
    return row.status
