"""Her own days (issue 12): a step with ``own_days: <label>`` falls on the weekdays of the
participant's weekly fixed commitments with that label (``iba schedule commitment add
REF --label sprogskole --weekday tirsdag ...``), entered at the visitation or later.
Adding, importing or removing such a commitment re-plans her active enrollments."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from iba_workflow.definition.model import Definition
from iba_workflow.schedule.tables import CommitmentRow
from iba_workflow.store.tables import EnrollmentRow

from .context import EngineContext

CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def own_weekdays(
    session: Session, d: Definition, enrollment: EnrollmentRow
) -> dict[str, list[str]]:
    """Step id → her weekdays, for the definition's own-days steps she has commitments for."""
    labels = {s.own_days: s.id for s in d.steps if s.own_days}
    if not labels:
        return {}
    rows = session.exec(
        select(CommitmentRow).where(
            CommitmentRow.citizen_id == enrollment.citizen_id,
            col(CommitmentRow.weekday).is_not(None),
            col(CommitmentRow.label).in_(list(labels)),
        )
    )
    found: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        if r.valid_to is not None and r.valid_to < enrollment.start:
            continue  # ended before her course
        assert r.weekday is not None
        found[labels[r.label]].add(r.weekday)
    return {sid: [CODES[w] for w in sorted(days)] for sid, days in found.items()}


def replan_own_days(session: Session, ctx: EngineContext, citizen_id: int) -> int:
    """Re-plan the citizen's active enrollments after her fixed days changed; the number
    of steps added, moved or cancelled."""
    from .lifecycle import replan_enrollment

    changed = 0
    for enrollment in session.exec(
        select(EnrollmentRow).where(
            EnrollmentRow.citizen_id == citizen_id, EnrollmentRow.status == "active"
        )
    ).all():
        changed += len(replan_enrollment(session, ctx, enrollment))
    return changed
