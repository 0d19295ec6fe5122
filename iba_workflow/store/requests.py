"""Received visitation requests: what a door (CLI, HTTP) was asked to do, kept under an
opaque key until the intervention's flow processes it.

A door stores the request and announces only its key (``iba.visitation.created``); the
flow reads the request back, calls the engine and records the outcome here. Processing is
idempotent: a request is processed once (``claim_for_processing`` is a conditional UPDATE
that a second processor, concurrent or later, finds already done).

Nothing personal lives here: the citizen is an id; name and CPR are in ``citizen_identity``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, cast

from sqlalchemy import JSON, Column, CursorResult, ForeignKey, Integer, update
from sqlmodel import Field, Session, SQLModel, col, select

from .types import UTCDateTime

REQUEST_STATUSES = ("received", "processed", "refused", "proposed")  # proposed: a handover
KEY_PREFIX = "vr-"


def new_request_key() -> str:
    """An opaque key (80 random bits): says nothing about the citizen or the time."""
    return KEY_PREFIX + secrets.token_hex(10)


class VisitationRequestRow(SQLModel, table=True):
    """A visitation as a door received it, and what became of it."""

    __tablename__ = "visitation_request"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    definition_id: str = Field(index=True)
    citizen_id: int = Field(
        default=None, sa_column=Column(Integer, ForeignKey("citizen.id"), nullable=False)
    )
    channel: str  # cli / http / event
    #: the API credential that submitted it (``apikey:3``, ``jwt:<client>``), the only one
    #: ``GET /api/visitations/{request}`` answers; None from the CLI and events
    submitted_by: str | None = None
    accept: bool = False
    reject_reason: str | None = None
    answers: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    start: dt.date | None = None
    cohort: str | None = None
    duration_weeks: int | None = None
    weekdays: dict[str, list[str]] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default="received", index=True)
    visitation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("visitation.id"), nullable=True)
    )
    enrollment_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("enrollment.id"), nullable=True)
    )
    decision: str | None = None  # accepted / rejected / waiting, as the engine decided
    error: str | None = None  # the engine's sentence when it refused
    received_at: dt.datetime = Field(sa_type=UTCDateTime)
    processed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


def add_request(session: Session, row: VisitationRequestRow) -> VisitationRequestRow:
    """Store a received request (the caller commits)."""
    if not row.key:
        row.key = new_request_key()
    session.add(row)
    session.flush()
    return row


def request_by_key(session: Session, key: str) -> VisitationRequestRow | None:
    return session.exec(select(VisitationRequestRow).where(VisitationRequestRow.key == key)).first()


def claim_for_processing(session: Session, key: str, *, now: dt.datetime) -> bool:
    """Mark a received request processed, in the caller's transaction. True if this
    transaction owns the processing; False if it was processed (or refused) already.

    The conditional UPDATE takes the row's write lock until the caller commits or rolls
    back, so a concurrent processor waits and then finds nothing to do (PostgreSQL
    re-checks the WHERE after the lock; SQLite has one writer at a time).
    """
    table = VisitationRequestRow.__table__  # type: ignore[attr-defined]
    done = cast(
        "CursorResult[Any]",
        session.execute(
            update(table)
            .where(table.c.key == key, table.c.status == "received")
            .values(status="processed", processed_at=now)
        ),
    ).rowcount
    return bool(done)


def record_refusal(session: Session, key: str, *, error: str, now: dt.datetime) -> bool:
    """A request the engine refused: kept with the reason, never retried (the caller
    commits). True if this call recorded it (False: processed or refused already)."""
    table = VisitationRequestRow.__table__  # type: ignore[attr-defined]
    done = cast(
        "CursorResult[Any]",
        session.execute(
            update(table)
            .where(table.c.key == key, table.c.status == "received")
            .values(status="refused", error=error[:500], processed_at=now)
        ),
    ).rowcount
    return bool(done)


def link_request(
    session: Session,
    key: str,
    *,
    visitation_id: int,
    enrollment_id: int | None,
    decision: str,
) -> None:
    """Write what the engine made of a request onto it, in the caller's transaction.
    The reject reason (free text) now lives on the visitation row: it leaves the request,
    so it is kept in one place."""
    table = VisitationRequestRow.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table)
        .where(table.c.key == key)
        .values(
            visitation_id=visitation_id,
            enrollment_id=enrollment_id,
            decision=decision,
            reject_reason=None,
        )
    )


def pending_requests(
    session: Session, *, received_before: dt.datetime, limit: int = 100
) -> list[tuple[str, str]]:
    """``(key, definition id)`` of requests received before ``received_before`` and still
    not processed, oldest first (for a sweep: their event was lost or came too early)."""
    rows = session.exec(
        select(VisitationRequestRow.key, VisitationRequestRow.definition_id)
        .where(
            VisitationRequestRow.status == "received",
            col(VisitationRequestRow.received_at) < received_before,
        )
        .order_by(col(VisitationRequestRow.id))
        .limit(limit)
    ).all()
    return [(key, definition_id) for key, definition_id in rows]
