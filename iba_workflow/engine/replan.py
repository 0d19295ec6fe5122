"""Re-planning a running enrollment: a pause (sick leave), a manual extension, an early
exit, a moved start. The impact report is computed before anything is written, and a
dry run writes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from iba_workflow.errors import InvalidInput, InvalidTransition
from iba_workflow.store.records import audit

from .context import EngineContext, transaction
from .lifecycle import close_if_finished, get_enrollment, replan_enrollment, set_status
from .target import ImpactLine


@dataclass
class ReplanResult:
    enrollment_id: int
    change: dict[str, Any]
    lines: list[ImpactLine] = field(default_factory=list)
    written: bool = False


def replan(
    session: Session,
    ctx: EngineContext,
    *,
    enrollment_id: int,
    pause: tuple[dt.date, dt.date] | None = None,
    extend_weeks: int | None = None,
    exit_on: dt.date | None = None,
    new_start: dt.date | None = None,
    dry_run: bool = False,
) -> ReplanResult:
    """Apply exactly one change; with ``dry_run`` only report what it would do."""
    given = [x for x in (pause, extend_weeks, exit_on, new_start) if x is not None]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one change",
            hint="--pause FROM..TO, --extend WEEKS, --exit DATE or --start DATE",
        )
    _change(pause, extend_weeks, exit_on, new_start, dt.date.min)  # bad input first
    for name, day in (
        ("pause", pause[0] if pause else None),
        ("pause", pause[1] if pause else None),
        ("exit", exit_on),
        ("start", new_start),
    ):
        if day is not None:
            ctx.check_date(day, field=name)
    with transaction(session):
        enrollment = get_enrollment(session, enrollment_id)
        if enrollment.status != "active":
            raise InvalidTransition(
                f"enrollment {enrollment_id} is {enrollment.status}; only active ones can be "
                "re-planned"
            )
        change = _change(pause, extend_weeks, exit_on, new_start, enrollment.start)
        adjustments = [*enrollment.adjustments, change]
        lines = replan_enrollment(
            session, ctx, enrollment, adjustments=adjustments, write=not dry_run
        )
        result = ReplanResult(enrollment_id, change, lines, not dry_run)
        if dry_run:  # nothing was written: replan_enrollment(write=False) only compares
            return result
        enrollment.adjustments = adjustments
        if new_start is not None:
            enrollment.start = new_start
            enrollment.visitation_on = min(enrollment.visitation_on, new_start)
        enrollment.updated_at = ctx.now()
        session.add(enrollment)
        audit(
            session,
            at=ctx.now(),
            actor=ctx.actor,
            action="replanned",
            entity="enrollment",
            entity_id=enrollment.id,
            enrollment_id=enrollment.id,
            citizen_id=enrollment.citizen_id,
            change=change,
            impact={line.key: line.change for line in lines},
        )
        if exit_on is not None:
            set_status(
                session, ctx, enrollment, "exited", reason="afsluttet før tid", ended_on=exit_on
            )
        else:
            close_if_finished(session, ctx, enrollment)
    return result


def _change(
    pause: tuple[dt.date, dt.date] | None,
    extend_weeks: int | None,
    exit_on: dt.date | None,
    new_start: dt.date | None,
    old_start: dt.date,
) -> dict[str, Any]:
    if pause is not None:
        first, last = pause
        if last < first:
            raise InvalidInput(
                f"the pause ends ({last}) before it starts ({first})",
                hint="give --pause FROM..TO with FROM on or before TO",
            )
        return {"kind": "pause", "from": first.isoformat(), "to": last.isoformat()}
    if extend_weeks is not None:
        if extend_weeks < 1:
            raise InvalidInput("an extension is at least one week", hint="--extend 4")
        return {"kind": "extend", "weeks": extend_weeks}
    if exit_on is not None:
        return {"kind": "exit", "on": exit_on.isoformat()}
    assert new_start is not None
    return {"kind": "start", "from": old_start.isoformat(), "to": new_start.isoformat()}
