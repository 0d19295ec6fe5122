"""Helpers for the engine tests: definitions, staff, citizens and record dumps."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from iba_workflow import paths
from iba_workflow.catalog import iter_definition_files
from iba_workflow.clock import COPENHAGEN
from iba_workflow.definition import Definition, load_definition
from iba_workflow.engine import EngineContext, add_staff, register_citizen
from iba_workflow.store import tables as t

DEFINITION_FILES = iter_definition_files(paths.definitions_dir())


@cache
def definition(name_or_path: str | Path) -> Definition:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = paths.definitions_dir() / f"{name_or_path}.yaml"
    return load_definition(path, known_templates=paths.known_templates())


def yes_to_all(d: Definition, *, health: bool = False) -> dict[str, bool]:
    """Every eligibility criterion of ``d`` answered yes (health ones only with
    ``health``: they need the citizen's consent)."""
    return {c.id: True for c in d.eligibility if health or not c.health}


def at(day: dt.date, hour: int = 8) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=COPENHAGEN).astimezone(dt.UTC)


def staff_for(session: Session, ctx: EngineContext, d: Definition) -> dict[str, int]:
    """One staff member per internal role of ``d``; role → staff id."""
    found = {}
    for role in d.roles:
        if not role.external:
            email = f"{role.id}@test.invalid"
            row = session.exec(select(t.StaffRow).where(t.StaffRow.email == email)).first()
            if row is None:
                row = add_staff(
                    session,
                    ctx,
                    name=role.name,
                    email=email,
                    roles=[role.id],
                    municipality=d.municipality,
                )
            found[role.id] = row.id
    return found


def citizen(session: Session, ctx: EngineContext, ref: str = "B-0001") -> str:
    register_citizen(session, ctx, ref=ref, municipality="hedensted")
    return ref


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, exactly: to show that nothing changed."""
    session.expire_all()
    dump = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = session.execute(text(f"SELECT * FROM {table.name}")).all()
        dump[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return dump


def _no_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_ids(v) for k, v in sorted(value.items()) if not k.endswith("id")}
    return value


def _step_refs(payload: dict[str, Any], steps: dict[Any, Any]) -> dict[str, Any]:
    """The payload without routing bookkeeping, its lists of step ids as step refs."""
    out = {k: v for k, v in payload.items() if k != "route"}
    if "cancelled_steps" in out:
        out["cancelled_steps"] = sorted((steps[i] for i in out["cancelled_steps"]), key=repr)
    return out


def canonical(session: Session) -> dict[str, list[Any]]:
    """The record without database ids and instants: equal for two runs that did the
    same things, whatever ids the sequences handed out."""
    session.expire_all()
    refs = {
        e.id: r
        for e, r in session.exec(
            select(t.EnrollmentRow, t.CitizenRow.ref).join(
                t.CitizenRow, t.CitizenRow.id == t.EnrollmentRow.citizen_id
            )
        )
    }
    steps = {s.id: (refs[s.enrollment_id], s.key) for s in session.exec(select(t.StepInstanceRow))}
    staff = {s.id: s.email for s in session.exec(select(t.StaffRow))}
    citizens = {c.id: c.ref for c in session.exec(select(t.CitizenRow))}

    def rows(model: Any) -> list[Any]:
        return list(session.exec(select(model)))

    dump: dict[str, list[Any]] = {
        "enrollments": [
            (
                refs[e.id],
                e.status,
                e.start,
                e.ended_on,
                e.ended_reason,
                e.definition_version,
                repr(e.adjustments),
            )
            for e in rows(t.EnrollmentRow)
        ],
        "steps": [
            (refs[s.enrollment_id], s.key, s.status, s.due_date, s.due_time, s.revision)
            for s in rows(t.StepInstanceRow)
        ],
        "completions": [
            (steps[c.step_instance_id], c.completed_on, c.outcome, c.skipped, repr(c.data))
            for c in rows(t.CompletionRow)
        ],
        "outcomes": [
            (refs[o.enrollment_id], o.step_key, o.outcome, o.decided_on) for o in rows(t.OutcomeRow)
        ],
        "measurements": [
            (steps[m.step_instance_id], m.dimension, m.value) for m in rows(t.MeasurementRow)
        ],
        "attendance": [(steps[a.step_instance_id], a.present) for a in rows(t.AttendanceRow)],
        # What the engine wrote, and that it was settled (sent, carried by a digest, or
        # dropped as needless — a task done before the dispatcher saw it). Which of these,
        # and which digest carried it, depends on when the dispatcher ran (a crash changes
        # that), so the digest rows and the routing bookkeeping are left out; a row still
        # new, held, pending, failed or dead shows as such.
        "outbox": [
            (
                o.kind,
                steps.get(o.step_instance_id),
                staff[o.recipient_staff_id],
                "settled" if o.status in ("sent", "folded", "dropped") else o.status,
                # The message id without its database ids (kind and tag, e.g. "r2").
                "/".join(p for p in o.message_id.split("/")[1:] if not p.isdigit()),
                repr(_no_ids(_step_refs(o.payload, steps))),
            )
            for o in rows(t.OutboxRow)
            if o.kind != "digest"
        ],
        "audit": [
            (
                a.action,
                refs.get(a.enrollment_id),
                citizens.get(a.citizen_id),
                repr(_no_ids(a.details)),
            )
            for a in rows(t.AuditRow)
        ],
        "visitations": [(citizens[v.citizen_id], v.decision) for v in rows(t.VisitationRow)],
    }
    return {k: sorted(v, key=repr) for k, v in dump.items()}


def tick_reading(session: Session, ctx: EngineContext) -> int:
    """One tick (``enqueue_due_notifications`` at the context's clock, committed); how many
    step rows it loaded (every one afresh: the session is emptied first)."""
    from sqlalchemy import event

    from iba_workflow.engine import enqueue_due_notifications

    session.expunge_all()
    read = 0

    def loaded(*_args: object) -> None:
        nonlocal read
        read += 1

    event.listen(t.StepInstanceRow, "load", loaded)
    try:
        enqueue_due_notifications(session, ctx)
    finally:
        event.remove(t.StepInstanceRow, "load", loaded)
    session.commit()
    return read
