"""Completing a step: record who did it and what they entered, apply the outcome's
branch, and move what depends on it. Completing the same thing twice changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from iba_workflow.cpr_guard import refuse_cpr_in_values
from iba_workflow.definition import Definition
from iba_workflow.definition.model import MeasurementStep
from iba_workflow.errors import ConsentMissing, InvalidInput, InvalidTransition, NotFound
from iba_workflow.planning import ChosenOutcome
from iba_workflow.store.records import audit, has_health_consent, pk
from iba_workflow.store.tables import (
    AttendanceRow,
    CompletionRow,
    EnrollmentRow,
    MeasurementRow,
    OutcomeRow,
    StepInstanceRow,
)

from .absence import absence_data, list_days, record_absence_list
from .context import EngineContext, transaction
from .definitions import stored_definition
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
        row = session.get(StepInstanceRow, step_instance_id)
        if row is None:
            raise NotFound(f"no step {step_instance_id}", hint="see the steps with: iba status")
        enrollment = get_enrollment(session, row.enrollment_id)
        if row.kind == "attendance" and not skip:  # the days of the list, named
            data = absence_data(data, _list_days(ctx, row, enrollment))
        done = session.exec(
            select(CompletionRow).where(CompletionRow.step_instance_id == row.id)
        ).first()
        if done is not None:
            if (done.outcome, done.data, done.skipped) == (outcome, data, skip):
                return CompletionResult(row.id or 0, enrollment.id or 0, enrollment.status, True)
            raise InvalidTransition(
                f"step '{row.key}' was completed on {done.completed_on} with other data",
                hint="a completion cannot be changed; record a correction with the IBA",
            )
        _check_allowed(session, row, enrollment)
        d = stored_definition(session, enrollment.definition_id, enrollment.definition_version)
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
        session.add(
            CompletionRow(
                step_instance_id=pk(row),
                by_staff_id=ctx.staff_id,
                channel=ctx.channel,
                completed_at=now,
                completed_on=today,
                skipped=skip,
                outcome=outcome,
                data=data,
            )
        )
        if not skip:
            _record_data(session, ctx, row, enrollment, step, data)
        row.status, row.updated_at = ("skipped" if skip else "completed"), now
        session.add(row)
        ended = False
        if outcome is not None:
            session.add(
                OutcomeRow(
                    enrollment_id=pk(enrollment),
                    step_instance_id=pk(row),
                    step_key=row.key,
                    outcome=outcome,
                    decided_on=today,
                )
            )
            chosen_outcome = next(o for o in step.outcomes_list if o.id == outcome)
            ended = chosen_outcome.ends
            propose_handover(
                session, ctx, enrollment=enrollment, outcome=chosen_outcome, step_key=row.key
            )
        session.flush()
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
        if outcome is not None or _anchors_on_completion(d, row.step_id):
            facts = gather_facts(session, enrollment.id or 0)
            if outcome is not None and not any(c.step_key == row.key for c in facts.outcomes):
                chosen = ChosenOutcome(row.key, outcome, today)
                facts = Facts(facts.completions, [*facts.outcomes, chosen])
            changes = replan_enrollment(session, ctx, enrollment, facts=facts)
        if ended:
            set_status(session, ctx, enrollment, "ended", reason=f"{row.key}: {outcome}")
        else:
            close_if_finished(session, ctx, enrollment)
        return CompletionResult(row.id or 0, enrollment.id or 0, enrollment.status, False, changes)


def _anchors_on_completion(d: Definition, step_id: str) -> bool:
    """Does any date in the plan follow from when ``step_id`` is completed? If not, and
    no outcome is chosen, completing it cannot change the plan."""
    anchor = f"completion.{step_id}"
    for s in d.steps:
        anchors = [s.when.anchor] if s.when is not None else []
        if s.repeat is not None:
            anchors += [b.anchor for b in (s.repeat.start, s.repeat.until) if b is not None]
        if anchor in anchors:
            return True
    return False


def _list_days(ctx: EngineContext, row: StepInstanceRow, e: EnrollmentRow) -> list[dt.date]:
    return list_days(ctx.calendars(e.municipality), row.due_date, e.start)


def _check_allowed(session: Session, row: StepInstanceRow, enrollment: EnrollmentRow) -> None:
    if row.status in ("cancelled", "skipped"):
        raise InvalidTransition(
            f"step '{row.key}' is {row.status} and cannot be completed",
            hint="see the current plan with: iba status " + str(enrollment.id),
        )
    if enrollment.status != "active":
        raise InvalidTransition(f"enrollment {enrollment.id} is {enrollment.status}, not active")
    if row.depends_on:
        waiting = session.exec(
            select(StepInstanceRow.key).where(
                StepInstanceRow.enrollment_id == enrollment.id,
                StepInstanceRow.key.in_(row.depends_on),  # type: ignore[attr-defined]
                StepInstanceRow.status.in_(("planned", "due", "notified")),  # type: ignore[attr-defined]
            )
        ).all()
        if waiting:
            raise InvalidTransition(
                f"'{row.key}' waits for {', '.join(sorted(waiting))}",
                hint="complete those first",
            )


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
        for key, raw in data.items():
            dim = dims[key]
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidInput(f"'{key}' must be a number") from None
            if not dim.scale.min <= value <= dim.scale.max:
                raise InvalidInput(f"'{key}' must lie in {dim.scale.min:g}..{dim.scale.max:g}")
            session.add(
                MeasurementRow(
                    enrollment_id=pk(enrollment),
                    step_instance_id=pk(row),
                    dimension=key,
                    value=value,
                    health=dim.health,
                    measured_on=today,
                )
            )
    elif row.kind == "attendance":
        days = _list_days(ctx, row, enrollment)
        record_absence_list(session, row, enrollment, days, data["absent_on"], ctx.now())
    elif row.kind == "session":
        present = str(data.get("present", "yes")).lower() not in ("no", "nej", "false", "0")
        session.add(
            AttendanceRow(
                enrollment_id=pk(enrollment),
                step_instance_id=pk(row),
                day=row.due_date,
                present=present,
                reason=None,  # free text stays in one place: the completion's data
                recorded_at=ctx.now(),
            )
        )
