"""Completing a step: record who did it and what they entered, apply the outcome's
branch, and move what depends on it. Completing the same thing twice changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from iba_workflow.cpr_guard import refuse_cpr_in_values
from iba_workflow.definition.model import MeasurementStep
from iba_workflow.errors import ConsentMissing, InvalidInput, InvalidTransition, NotFound
from iba_workflow.planning import ChosenOutcome
from iba_workflow.store.records import audit, has_health_consent, pk
from iba_workflow.store.rows import (
    completion_of,
    get_by_id,
    insert_row,
    insert_rows,
    not_done_steps,
    set_step_status,
)
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    AttendanceRow,
    CompletionRow,
    EnrollmentRow,
    MeasurementRow,
    OutcomeRow,
    StepInstanceRow,
)

from .absence import absence_data, list_days, record_absence_list
from .context import EngineContext, transaction
from .definitions import anchored_on_completion, definition_of
from .handover import propose_handover
from .lifecycle import close_if_finished, get_enrollment, replan_enrollment, set_status
from .target import Facts, ImpactLine, gather_facts


@dataclass
class CompletionResult:
    step_instance_id: int
    enrollment_id: int
    enrollment_status: str
    already_done: bool = False
    changes: list[ImpactLine] = field(default_factory=list)


def complete_step(
    session: Session,
    ctx: EngineContext,
    *,
    step_instance_id: int,
    outcome: str | None = None,
    data: Mapping[str, Any] | None = None,
    skip: bool = False,
) -> CompletionResult:
    """Complete (or skip) one step instance, in the caller's transaction. Free text in
    ``data`` (a note, a reason) stays on the completion row; the audit names its fields."""
    data = dict(data or {})
    refuse_cpr_in_values(data, field="data")
    with transaction(session):
        row = get_by_id(session, StepInstanceRow, step_instance_id)
        if row is None:
            raise NotFound(f"no step {step_instance_id}", hint="see the steps with: iba status")
        enrollment = get_enrollment(session, row.enrollment_id)
        if row.kind == "attendance" and not skip:  # the days of the list, named
            data = absence_data(data, _list_days(ctx, row, enrollment))
        done = completion_of(session, pk(row))
        if done is not None:
            if (done.outcome, done.data, done.skipped) == (outcome, data, skip):
                return CompletionResult(row.id or 0, enrollment.id or 0, enrollment.status, True)
            raise InvalidTransition(
                f"step '{row.key}' was completed on {done.completed_on} with other data",
                hint="a completion cannot be changed; record a correction with the IBA",
            )
        not_done = _check_allowed(session, row, enrollment)
        d = definition_of(session, enrollment)
        step = d.step(row.step_id)
        if not skip and step.health and not has_health_consent(session, enrollment.citizen_id):
            raise ConsentMissing(
                f"step '{row.key}' concerns health and the citizen has given no consent"
                " (trinnet handler om helbred, og borgeren har ikke givet samtykke)",
                hint="record consent first (iba consent REF --given), or skip the step"
                " / registrér samtykke først, eller spring trinnet over",
            )
        options = [o.id for o in step.outcomes_list]
        if skip and outcome is not None:
            raise InvalidInput("a skipped step has no outcome")
        if not skip and options and outcome is None:
            raise InvalidInput(
                f"'{row.key}' needs an outcome", hint="outcomes: " + ", ".join(options)
            )
        if outcome is not None and outcome not in options:
            raise InvalidInput(
                f"'{row.step_id}' has no outcome '{outcome}'",
                hint="outcomes: " + (", ".join(options) or "(none: leave --outcome out)"),
            )
        today, now = ctx.today(), ctx.now()
        # the data's own rows first: a refused value leaves nothing written
        if not skip:
            _record_data(session, ctx, row, enrollment, step, data)
        insert_row(
            session,
            CompletionRow,
            {
                "step_instance_id": pk(row),
                "by_staff_id": ctx.staff_id,
                "channel": ctx.channel,
                "completed_at": now,
                "completed_on": today,
                "skipped": skip,
                "outcome": outcome,
                "data": data,
            },
        )
        set_step_status(session, row, "skipped" if skip else "completed", now)
        ended = False
        if outcome is not None:
            insert_row(
                session,
                OutcomeRow,
                {
                    "enrollment_id": pk(enrollment),
                    "step_instance_id": pk(row),
                    "step_key": row.key,
                    "outcome": outcome,
                    "decided_on": today,
                },
            )
            chosen_outcome = next(o for o in step.outcomes_list if o.id == outcome)
            ended = chosen_outcome.ends
            propose_handover(
                session, ctx, enrollment=enrollment, outcome=chosen_outcome, step_key=row.key
            )
        audit(
            session,
            at=now,
            actor=ctx.actor,
            action="step_skipped" if skip else "step_completed",
            entity="step_instance",
            entity_id=row.id,
            enrollment_id=enrollment.id,
            citizen_id=enrollment.citizen_id,
            step_key=row.key,
            channel=ctx.channel,
            outcome=outcome,
            fields=sorted(data),
        )
        changes: list[ImpactLine] = []
        replanned = outcome is not None or row.step_id in anchored_on_completion(d)
        if replanned:
            facts = gather_facts(session, enrollment.id or 0)
            if outcome is not None and not any(c.step_key == row.key for c in facts.outcomes):
                chosen = ChosenOutcome(row.key, outcome, today)
                facts = Facts(facts.completions, [*facts.outcomes, chosen])
            changes = replan_enrollment(session, ctx, enrollment, facts=facts, definition=d)
        if ended:
            set_status(session, ctx, enrollment, "ended", reason=f"{row.key}: {outcome}")
        else:
            # nothing but this step changed status unless the plan was written again
            left = None if replanned else sum(1 for x in not_done if x.id != row.id)
            close_if_finished(session, ctx, enrollment, left=left)
        return CompletionResult(row.id or 0, enrollment.id or 0, enrollment.status, False, changes)


def _list_days(ctx: EngineContext, row: StepInstanceRow, e: EnrollmentRow) -> list[dt.date]:
    return list_days(ctx.calendars(e.municipality), row.due_date, e.start)


def _check_allowed(session: Session, row: StepInstanceRow, enrollment: EnrollmentRow) -> list[Any]:
    """Refuse what cannot be completed; the enrollment's steps not yet done (id, key,
    status), read once for the dependencies here and for :func:`close_if_finished`."""
    if row.status in ("cancelled", "skipped"):
        raise InvalidTransition(
            f"step '{row.key}' is {row.status} and cannot be completed",
            hint="see the current plan with: iba status " + str(enrollment.id),
        )
    if enrollment.status != "active":
        raise InvalidTransition(f"enrollment {enrollment.id} is {enrollment.status}, not active")
    not_done = not_done_steps(session, pk(enrollment))
    if row.depends_on:
        needed = set(row.depends_on)
        waiting = [x.key for x in not_done if x.key in needed and x.status in OPEN_STEP_STATUSES]
        if waiting:
            raise InvalidTransition(
                f"'{row.key}' waits for {', '.join(sorted(waiting))}",
                hint="complete those first",
            )
    return not_done


def _record_data(
    session: Session,
    ctx: EngineContext,
    row: StepInstanceRow,
    enrollment: EnrollmentRow,
    step: object,
    data: dict[str, Any],
) -> None:
    today = ctx.today()
    if isinstance(step, MeasurementStep):
        dims = {dim.id: dim for dim in step.dimensions}
        unknown = sorted(set(data) - set(dims))
        if unknown:
            raise InvalidInput(
                f"'{row.step_id}' measures no {', '.join(unknown)}",
                hint="dimensions: " + ", ".join(dims),
            )
        if any(dims[k].health for k in data) and not has_health_consent(
            session, enrollment.citizen_id
        ):
            raise ConsentMissing(
                "health measurements need the citizen's consent, and none is on file",
                hint="record consent first, or leave the health dimensions out",
            )
        rows: list[dict[str, Any]] = []
        for key, raw in data.items():
            dim = dims[key]
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidInput(f"'{key}' must be a number") from None
            if not dim.scale.min <= value <= dim.scale.max:
                raise InvalidInput(f"'{key}' must lie in {dim.scale.min:g}..{dim.scale.max:g}")
            rows.append(
                {
                    "enrollment_id": pk(enrollment),
                    "step_instance_id": pk(row),
                    "dimension": key,
                    "value": value,
                    "health": dim.health,
                    "measured_on": today,
                }
            )
        insert_rows(session, MeasurementRow, rows)
    elif row.kind == "attendance":
        days = _list_days(ctx, row, enrollment)
        record_absence_list(session, row, enrollment, days, data["absent_on"], ctx.now())
    elif row.kind == "session":
        present = str(data.get("present", "yes")).lower() not in ("no", "nej", "false", "0")
        insert_row(
            session,
            AttendanceRow,
            {
                "enrollment_id": pk(enrollment),
                "step_instance_id": pk(row),
                "day": row.due_date,
                "present": present,
                "reason": None,  # free text stays in one place: the completion's data
                "recorded_at": ctx.now(),
            },
        )
