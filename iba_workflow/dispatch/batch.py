"""A batch's step mails, built in one transaction (``compose_batch``), with the rows they
need read in one query per kind (``prefetch``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from iba_workflow.engine import EngineContext
from iba_workflow.mail import MailRenderer
from iba_workflow.settings import Settings
from iba_workflow.store.db import SessionFactory
from iba_workflow.store.tables import EnrollmentRow, OutboxRow, StaffRow, StepInstanceRow

from .compose import Composed, DefinitionCache, Skipped, compose
from .digest import DIGEST_KIND

SIGN_IN_KIND = "sign_in"  # identity.signin.SIGN_IN_KIND (not imported: no cycle)
MEETING_KIND = "schedule_meeting"  # schedule.meeting_outbox.MEETING_KIND (issue 12)


def compose_batch(
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
            rows = prefetch(session, outbox_ids)
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
                built[outbox_id] = (mail, intervention_of(session, row.enrollment_id))
            session.commit()
        except Exception:  # the rows go one by one, each recording its own error
            session.rollback()
            return {}
    return built


def prefetch(session: Session, outbox_ids: Sequence[int]) -> dict[int, OutboxRow]:
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


def intervention_of(session: object, enrollment_id: int | None) -> str:
    if enrollment_id is None:
        return "-"
    enrollment = session.get(EnrollmentRow, enrollment_id)  # type: ignore[attr-defined]
    return enrollment.definition_id if enrollment is not None else "-"
