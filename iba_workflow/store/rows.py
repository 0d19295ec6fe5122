"""Core statements for the engine's hot paths (completing a step, writing a plan).

The ORM's unit of work costs several times a plain statement: building a row object
(SQLModel's ``__init__``), tracking it, sorting the flush. Rows that nothing reads back as
objects in the same transaction (completions, outcomes, measurements, attendance, audit
lines, outbox rows) are written here as one ``INSERT`` each (or one ``executemany``), on
the session's connection and in its transaction, with the tables' own column types (UTC
instants, JSON). The statements are built once.

An ORM query flushes what is pending first (autoflush); a Core statement does not, so
the readers here flush first (nothing to do when the session is clean), and see what an
ORM query would have seen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from .tables import (
    DONE_STEP_STATUSES,
    OPEN_STEP_STATUSES,
    AttendanceRow,
    AuditRow,
    CompletionRow,
    ConsentRow,
    EnrollmentRow,
    EnrollmentStaffRow,
    MeasurementRow,
    OutboxRow,
    OutcomeRow,
    StaffCoverRow,
    StaffRow,
    StepInstanceRow,
)


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


STEPS = _table(StepInstanceRow)
COMPLETIONS = _table(CompletionRow)
OUTCOMES = _table(OutcomeRow)
CONSENTS = _table(ConsentRow)
ENROLLMENTS = _table(EnrollmentRow)
ASSIGNMENTS = _table(EnrollmentStaffRow)
COVERS = _table(StaffCoverRow)
STAFF = _table(StaffRow)
OUTBOX = _table(OutboxRow)
AUDIT = _table(AuditRow)
MEASUREMENTS = _table(MeasurementRow)
ATTENDANCE = _table(AttendanceRow)

_INSERTS: dict[str, Any] = {
    t.name: insert(t) for t in (COMPLETIONS, OUTCOMES, OUTBOX, AUDIT, MEASUREMENTS, ATTENDANCE)
}

_COMPLETION_OF = (
    select(
        COMPLETIONS.c.outcome,
        COMPLETIONS.c.data,
        COMPLETIONS.c.skipped,
        COMPLETIONS.c.completed_on,
    )
    .where(COMPLETIONS.c.step_instance_id == bindparam("step"))
    .limit(1)
)
_NOT_DONE = (
    select(STEPS.c.id, STEPS.c.key, STEPS.c.status)
    .where(STEPS.c.enrollment_id == bindparam("enrollment"))
    .where(STEPS.c.status.not_in(DONE_STEP_STATUSES))
)
_COUNT_NOT_DONE = (
    select(func.count())
    .select_from(STEPS)
    .where(STEPS.c.enrollment_id == bindparam("enrollment"))
    .where(STEPS.c.status.not_in(DONE_STEP_STATUSES))
)
_SET_STATUS = (
    update(STEPS)
    .where(STEPS.c.id == bindparam("step"))
    .values(status=bindparam("status"), updated_at=bindparam("at"))
)
_LATEST_CONSENT = (
    select(CONSENTS.c.given)
    .where(CONSENTS.c.citizen_id == bindparam("citizen"), CONSENTS.c.scope == "health")
    .order_by(CONSENTS.c.at.desc(), CONSENTS.c.id.desc())
    .limit(1)
)
_COMPLETED_ON = (
    select(STEPS.c.key, COMPLETIONS.c.completed_on)
    .join(COMPLETIONS, COMPLETIONS.c.step_instance_id == STEPS.c.id)
    .where(STEPS.c.enrollment_id == bindparam("enrollment"), COMPLETIONS.c.skipped == False)  # noqa: E712
)
_OUTCOMES_OF = (
    select(OUTCOMES.c.step_key, OUTCOMES.c.outcome, OUTCOMES.c.decided_on)
    .where(OUTCOMES.c.enrollment_id == bindparam("enrollment"))
    .order_by(OUTCOMES.c.id)
)
_EXISTING_MESSAGES = select(OUTBOX.c.message_id).where(
    OUTBOX.c.message_id.in_(bindparam("ids", expanding=True))
)
_CANCELLED_FROM = (
    select(STEPS.c.id, STEPS.c.group_key)
    .where(
        STEPS.c.enrollment_id == bindparam("enrollment"),
        STEPS.c.status == "cancelled",
        STEPS.c.kind != "session",
        STEPS.c.due_date >= bindparam("day"),
    )
    .order_by(STEPS.c.due_date, STEPS.c.id)
)
_TOLD = select(OUTBOX.c.recipient_staff_id).where(
    OUTBOX.c.enrollment_id == bindparam("enrollment"), OUTBOX.c.kind != bindparam("but")
)
_WAITING = select(ENROLLMENTS.c.id).where(
    ENROLLMENTS.c.definition_id == bindparam("definition"), ENROLLMENTS.c.status == "waiting"
)
_WAITING_IN_COHORT = _WAITING.where(ENROLLMENTS.c.cohort_id == bindparam("cohort"))
_ASSIGNED = select(ASSIGNMENTS.c.role, ASSIGNMENTS.c.staff_id).where(
    ASSIGNMENTS.c.enrollment_id == bindparam("enrollment")
)
_COVER = (
    select(COVERS.c.staff_id, COVERS.c.cover_staff_id)
    .where(COVERS.c.first_day <= bindparam("on"), COVERS.c.last_day >= bindparam("on"))
    .order_by(COVERS.c.id)
)
_ACTIVE_STAFF = (
    select(STAFF.c.id, STAFF.c.roles)
    .where(STAFF.c.municipality == bindparam("municipality"), STAFF.c.active == True)  # noqa: E712
    .order_by(STAFF.c.id)
)
#: at most this many bound values in one ``IN`` (SQLite's limit is far above it)
CHUNK = 500


_RETURNING: dict[str, Any] = {}
_BY_ID: dict[Any, Any] = {}
_M = TypeVar("_M")


def _run(session: Session, statement: Any, params: Any = None) -> Any:
    return session.connection().execute(statement, params)


def enrollment_steps(*columns: str, statuses: Sequence[str] = ()) -> Any:
    """A statement for an enrollment's steps (bound as ``enrollment``) by date, the named
    ``columns`` only (with ``statuses``: only steps in those); read it with
    :func:`step_rows`. Plain rows, no ORM objects, for the questions asked per
    enrollment again and again (re-planning, the simulator)."""
    c = STEPS.c
    statement = select(*(c[name] for name in columns)).where(
        c.enrollment_id == bindparam("enrollment")
    )
    if statuses:
        statement = statement.where(c.status.in_(statuses))
    return statement.order_by(c.due_date, c.id)


def step_rows(session: Session, statement: Any, enrollment_id: int) -> list[Any]:
    """The rows of an :func:`enrollment_steps` statement; what the session holds goes to
    the database first, as an ORM read would flush it."""
    session.flush()
    return list(_run(session, statement, {"enrollment": enrollment_id}).all())


def get_by_id(session: Session, model: type[_M], row_id: int) -> _M | None:
    """``session.get(model, row_id)``: the object the session holds, else one ``SELECT``
    (which flushes first, as ``get`` does). The statement is built once per table, where
    ``get`` builds and annotates its own on every call (about half a millisecond)."""
    found = session.identity_map.get(identity_key(model, row_id))
    if found is not None:
        return found  # type: ignore[no-any-return]
    statement = _BY_ID.get(model)
    if statement is None:
        statement = _BY_ID[model] = select(model).where(_table(model).c.id == bindparam("id"))
    return session.execute(statement, {"id": row_id}).scalar_one_or_none()  # type: ignore[no-any-return]


def insert_row(session: Session, model: Any, values: dict[str, Any]) -> None:
    """One row of ``model``'s table (every column given, as the ORM would write it)."""
    _run(session, _INSERTS[_table(model).name], values)


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of ``model``'s table in one ``executemany`` (all with the same keys)."""
    if rows:
        _run(session, _INSERTS[_table(model).name], list(rows))


def insert_returning(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Rows of ``model``'s table in one statement (``INSERT … VALUES …, … RETURNING``
    where the database can); every column of each row as written, ``id`` included, in
    no particular order."""
    if not rows:
        return []
    table = _table(model)
    statement = _RETURNING.get(table.name)
    if statement is None:
        statement = _RETURNING[table.name] = insert(table).returning(*table.c)
    return list(_run(session, statement, list(rows)).all())


def completion_of(session: Session, step_instance_id: int) -> Any:
    """The completion of a step (outcome, data, skipped, completed_on), or None."""
    session.flush()
    return _run(session, _COMPLETION_OF, {"step": step_instance_id}).first()


def not_done_steps(session: Session, enrollment_id: int) -> list[Any]:
    """(id, key, status) of the enrollment's steps that are not completed, skipped or
    cancelled."""
    session.flush()
    return list(_run(session, _NOT_DONE, {"enrollment": enrollment_id}).all())


def count_not_done(session: Session, enrollment_id: int) -> int:
    session.flush()
    return int(_run(session, _COUNT_NOT_DONE, {"enrollment": enrollment_id}).scalar_one())


def set_step_status(session: Session, row: StepInstanceRow, status: str, at: dt.datetime) -> None:
    """``row.status`` and ``row.updated_at`` written with one ``UPDATE``; the object
    holds them as loaded values (a rollback expires it, as it expires every object)."""
    session.flush()  # whatever else of the row is pending goes first, as before
    _run(session, _SET_STATUS, {"step": row.id, "status": status, "at": at})
    set_committed_value(row, "status", status)
    set_committed_value(row, "updated_at", at)


def latest_health_consent(session: Session, citizen_id: int) -> bool | None:
    """The latest health consent of a citizen: True (given), False (withdrawn) or None."""
    session.flush()
    found = _run(session, _LATEST_CONSENT, {"citizen": citizen_id}).first()
    return None if found is None else bool(found[0])


def completed_on(session: Session, enrollment_id: int) -> list[Any]:
    """(key, completed_on) of the enrollment's completed (not skipped) steps."""
    session.flush()
    return list(_run(session, _COMPLETED_ON, {"enrollment": enrollment_id}).all())


def outcomes_of(session: Session, enrollment_id: int) -> list[Any]:
    """(step_key, outcome, decided_on) of the enrollment's chosen outcomes, in order."""
    session.flush()
    return list(_run(session, _OUTCOMES_OF, {"enrollment": enrollment_id}).all())


def cancelled_from(session: Session, enrollment_id: int, day: dt.date) -> list[Any]:
    """(id, group_key) of the enrollment's cancelled steps (not lessons) due on ``day``
    or later, by date."""
    session.flush()
    return list(_run(session, _CANCELLED_FROM, {"enrollment": enrollment_id, "day": day}))


def recipients_told(session: Session, enrollment_id: int, *, but: str) -> list[int]:
    """Who has an outbox row about the enrollment of another kind than ``but``."""
    session.flush()
    return list(_run(session, _TOLD, {"enrollment": enrollment_id, "but": but}).scalars())


def waiting_ids(session: Session, definition_id: str, cohort_id: int | None) -> list[int]:
    """Ids of the definition's (the cohort's) enrollments on the waiting list."""
    session.flush()
    if cohort_id is None:
        found = _run(session, _WAITING, {"definition": definition_id})
    else:
        found = _run(
            session, _WAITING_IN_COHORT, {"definition": definition_id, "cohort": cohort_id}
        )
    return list(found.scalars())


def recipient_rows(
    session: Session, enrollment_id: int | None, municipality: str, on: dt.date | None
) -> tuple[list[Any], list[Any], list[Any]]:
    """What ``engine.apply.Recipients`` reads: the enrollment's (role, staff_id)
    assignments, the (staff_id, cover_staff_id) covers on ``on`` (none without a day),
    and the municipality's active staff (id, roles) by id."""
    session.flush()
    assigned = list(_run(session, _ASSIGNED, {"enrollment": enrollment_id}))
    cover = [] if on is None else list(_run(session, _COVER, {"on": on}))
    staff = list(_run(session, _ACTIVE_STAFF, {"municipality": municipality}))
    return assigned, cover, staff


def enqueue_many(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Outbox rows (every column of ``outbox`` but ``id``), each unless one with its
    ``message_id`` exists or comes earlier in ``rows``: what ``outbox.enqueue`` does one
    by one, in one look-up and one ``executemany``. The number written."""
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        fresh.setdefault(row["message_id"], row)
    if not fresh:
        return 0
    session.flush()
    ids = list(fresh)
    for i in range(0, len(ids), CHUNK):
        for (message_id,) in _run(session, _EXISTING_MESSAGES, {"ids": ids[i : i + CHUNK]}):
            fresh.pop(message_id, None)
    insert_rows(session, OutboxRow, list(fresh.values()))
    return len(fresh)


def outbox_values(
    *,
    message_id: str,
    kind: str,
    recipient_staff_id: int,
    now: dt.datetime,
    step_instance_id: int | None = None,
    enrollment_id: int | None = None,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
) -> dict[str, Any]:
    """The columns of an outbox row as ``outbox.enqueue`` makes it."""
    return {
        "message_id": message_id,
        "kind": kind,
        "recipient_staff_id": recipient_staff_id,
        "step_instance_id": step_instance_id,
        "enrollment_id": enrollment_id,
        "payload": payload or {},
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "sent_at": None,
        "last_error": None,
        "carried_by": None,
    }


__all__ = [
    "OPEN_STEP_STATUSES",
    "cancelled_from",
    "completed_on",
    "completion_of",
    "count_not_done",
    "enqueue_many",
    "get_by_id",
    "insert_returning",
    "insert_row",
    "insert_rows",
    "latest_health_consent",
    "not_done_steps",
    "outbox_values",
    "outcomes_of",
    "recipient_rows",
    "recipients_told",
    "set_step_status",
    "waiting_ids",
]
