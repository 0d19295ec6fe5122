"""Moving running enrollments to a new definition version: previewed per enrollment
(steps added, removed, moved) and applied only on request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.errors import IbaError, InvalidInput
from iba_workflow.store.records import audit
from iba_workflow.store.tables import EnrollmentRow

from .apply import apply_target
from .context import EngineContext, transaction
from .definitions import register_definition
from .lifecycle import instances_of
from .target import ImpactLine, cohort_key, compute_target, diff_instances, gather_facts


@dataclass
class MigrationPreview:
    enrollment_id: int
    from_version: int
    to_version: int
    lines: list[ImpactLine] = field(default_factory=list)
    problem: str | None = None
    applied: bool = False


def migrate_enrollments(
    session: Session, ctx: EngineContext, *, definition: Definition, apply: bool = False
) -> list[MigrationPreview]:
    """Preview (and with ``apply`` perform) the move of every active enrollment of an
    older version to ``definition``. Enrollments that cannot move are reported, not moved."""
    d = definition
    with transaction(session):
        digest = register_definition(session, ctx, d)
        enrollments = session.exec(
            select(EnrollmentRow)
            .where(
                EnrollmentRow.definition_id == d.id,
                EnrollmentRow.status == "active",
                col(EnrollmentRow.definition_version) < d.version,
            )
            .order_by(col(EnrollmentRow.id))
        ).all()
        if not enrollments and not apply:
            newer = session.exec(
                select(EnrollmentRow).where(
                    EnrollmentRow.definition_id == d.id,
                    col(EnrollmentRow.definition_version) > d.version,
                )
            ).first()
            if newer is not None:
                raise InvalidInput(
                    f"enrollments of '{d.id}' already run on a later version than {d.version}"
                )
        previews: list[MigrationPreview] = []
        for enrollment in enrollments:
            preview = MigrationPreview(enrollment.id or 0, enrollment.definition_version, d.version)
            previews.append(preview)
            try:
                _plan, target = compute_target(
                    d,
                    enrollment,
                    ctx.calendars(d.municipality),
                    gather_facts(session, enrollment.id or 0),
                    cohort=cohort_key(session, enrollment),
                )
            except IbaError as exc:
                preview.problem = exc.message
                continue
            instances = instances_of(session, enrollment.id or 0)
            preview.lines = diff_instances(instances, target)
            if not apply:
                continue
            apply_target(session, ctx, enrollment, instances, target, preview.lines)
            old = enrollment.definition_version
            enrollment.definition_version, enrollment.content_hash = d.version, digest
            enrollment.updated_at = ctx.now()
            session.add(enrollment)
            preview.applied = True
            audit(
                session,
                at=ctx.now(),
                actor=ctx.actor,
                action="migrated",
                entity="enrollment",
                entity_id=enrollment.id,
                enrollment_id=enrollment.id,
                citizen_id=enrollment.citizen_id,
                from_version=old,
                to_version=d.version,
                impact={line.key: line.change for line in preview.lines},
            )
    return previews
