"""``enqueue_due`` counts per intervention what became due (from the engine's own list,
not a second read of the steps), and the engine writes one ``step_due`` audit line per
step; a second run the same day finds nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import select
from test_digest_statements import START, enroll
from world import World, local

from iba_workflow.dispatch import enqueue_due
from iba_workflow.store import tables as t


def test_what_became_due_is_counted_per_intervention_and_audited_once(world: World) -> None:
    enroll(world, ["D-1", "D-2", "D-3"])
    world.clock.set(local(START + dt.timedelta(weeks=3), 7))
    first = enqueue_due(world.open_session, world.ctx)
    name = world.definition.id
    assert first.became_due > 0
    assert {k: c.due for k, c in first.by_intervention.items()} == {name: first.became_due}
    with world.session() as s:
        lines = s.exec(
            select(func.count()).select_from(t.AuditRow).where(t.AuditRow.action == "step_due")
        ).one()
        due = s.exec(
            select(func.count())
            .select_from(t.StepInstanceRow)
            .where(t.StepInstanceRow.status == "due")
        ).one()
    assert lines == first.became_due <= due
    again = enqueue_due(world.open_session, world.ctx)
    assert again.became_due == 0 and all(c.due == 0 for c in again.by_intervention.values())
