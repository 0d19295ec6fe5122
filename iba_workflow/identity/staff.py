"""What a coordinator coordinates (``staff_coordinates``): set by ``iba staff add
--coordinates`` and the demo; read by the policy. The caller commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlmodel import Session, select

from iba_workflow.errors import NotFound
from iba_workflow.store.identity import StaffCoordinatesRow
from iba_workflow.store.records import audit
from iba_workflow.store.tables import StaffRow


def coordinated_by(session: Session, staff_id: int) -> list[str]:
    return sorted(
        session.exec(
            select(StaffCoordinatesRow.definition_id).where(
                StaffCoordinatesRow.staff_id == staff_id
            )
        ).all()
    )


def add_coordinates(
    session: Session, staff_id: int, definition_ids: Iterable[str], *, now: dt.datetime, actor: str
) -> list[str]:
    """Let ``staff_id`` coordinate ``definition_ids`` (in her own municipality); the
    definitions newly added."""
    if session.get(StaffRow, staff_id) is None:
        raise NotFound(f"no staff member {staff_id}")
    have = set(coordinated_by(session, staff_id))
    added = [d for d in dict.fromkeys(definition_ids) if d not in have]
    for definition_id in added:
        session.add(StaffCoordinatesRow(staff_id=staff_id, definition_id=definition_id))
    if added:
        session.flush()
        audit(session, at=now, actor=actor, action="coordinates_added", entity="staff",
              entity_id=staff_id, definitions=added)  # fmt: skip
    return added
