"""Small helpers over the record: the audit log, personal data behind an audited
accessor, and consent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from iba_workflow.errors import NotFound

from .rows import insert_row, latest_health_consent
from .tables import AuditRow, CitizenIdentityRow, CitizenRow


def pk(row: Any) -> int:
    """The primary key of a row that has been flushed. SQLModel types ids as ``int | None``
    (None until the INSERT); a missing one here is a programming error, not bad input."""
    value = getattr(row, "id", None)
    if value is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session first")
    return int(value)


def audit(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    enrollment_id: int | None = None,
    citizen_id: int | None = None,
    **details: Any,
) -> None:
    """Append one line to the audit log (ids and facts only, never personal data), at
    once: one ``INSERT`` in the caller's transaction (``store.rows``; the line is never
    read back as an object, so the ORM's unit of work would only cost)."""
    insert_row(
        session,
        AuditRow,
        audit_values(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            enrollment_id=enrollment_id,
            citizen_id=citizen_id,
            **details,
        ),
    )


def audit_values(
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    enrollment_id: int | None = None,
    citizen_id: int | None = None,
    **details: Any,
) -> dict[str, Any]:
    """The columns of the line :func:`audit` writes: for many lines in one ``executemany``
    (``store.rows.insert_rows(session, AuditRow, lines)``)."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "enrollment_id": enrollment_id,
        "citizen_id": citizen_id,
        "details": {k: _jsonable(v) for k, v in details.items()},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class CitizenIdentity:
    citizen_id: int
    name: str | None
    cpr: str | None
    email: str | None
    phone: str | None

    def __repr__(self) -> str:  # never print personal data by accident
        return f"CitizenIdentity(citizen_id={self.citizen_id}, ...)"


def read_citizen_identity(
    session: Session, citizen_id: int, *, actor: str, purpose: str, at: dt.datetime
) -> CitizenIdentity:
    """The only way to read who a citizen is. Every read adds a row to the audit log in
    the caller's transaction (never committed here): a request that reads commits at its
    end (``store.work.unit_of_work``), so the read and its audit row are kept together."""
    row = session.get(CitizenIdentityRow, citizen_id)
    if row is None:
        raise NotFound(f"no identity on file for citizen {citizen_id}")
    audit(
        session,
        at=at,
        actor=actor,
        action="read_identity",
        entity="citizen_identity",
        entity_id=citizen_id,
        citizen_id=citizen_id,
        purpose=purpose,
    )
    session.flush()
    return CitizenIdentity(citizen_id, row.name, row.cpr, row.email, row.phone)


def has_health_consent(session: Session, citizen_id: int) -> bool:
    """True if the latest health consent of the citizen is a 'given'."""
    return latest_health_consent(session, citizen_id) is True


def health_consent_withdrawn(session: Session, citizen_id: int) -> bool:
    """True if the latest health consent of the citizen is a withdrawal (not merely none
    on file): then the engine plans no health-only steps for her."""
    return latest_health_consent(session, citizen_id) is False


def citizen_by_ref(session: Session, ref: str) -> CitizenRow:
    row = session.exec(select(CitizenRow).where(CitizenRow.ref == ref)).first()
    if row is None:
        raise NotFound(
            f"no citizen with reference '{ref}'",
            hint="register the citizen first: iba citizen add REF",
        )
    return row
