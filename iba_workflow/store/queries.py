"""Read-only questions the dispatcher asks the record: what is due, what needs a
reminder, what is overdue and escalates. Dates are local (Europe/Copenhagen) days."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, null, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from .tables import (
    OPEN_STEP_STATUSES,
    EnrollmentRow,
    EnrollmentStaffRow,
    OutboxRow,
    StepInstanceRow,
)


@dataclass(frozen=True)
class ReminderDue:
    """A step whose next unhandled reminder date has come."""

    step: StepInstanceRow
    #: the latest reminder date reached (a missed one is sent once, as this one); None:
    #: nothing to send (the due date has passed, or the step is a lesson)
    reminder_date: dt.date | None
    #: the step's first reminder date after today: ``next_reminder`` once this is handled
    next_reminder: dt.date | None


def _open_steps(today: dt.date, statuses: tuple[str, ...] = OPEN_STEP_STATUSES):  # type: ignore[no-untyped-def]
    status = col(StepInstanceRow.status)
    return (
        select(StepInstanceRow)
        .join(EnrollmentRow, col(EnrollmentRow.id) == StepInstanceRow.enrollment_id)
        .where(
            EnrollmentRow.status == "active",
            status == statuses[0] if len(statuses) == 1 else status.in_(statuses),
        )
    )


def _in_order(rows: Iterable[StepInstanceRow]) -> list[StepInstanceRow]:
    """By date, then id. Sorted here, not in SQL: an ORDER BY due_date makes SQLite walk
    the due-date index over every step instead of the (status, date) index the question
    needs (bench/bench_scale.py --explain)."""
    return sorted(rows, key=lambda r: (r.due_date, r.id or 0))


#: rows per batch of :func:`_in_index_order`
BATCH = 5000


def _in_index_order(session: Session, query: Any, key: Any) -> list[StepInstanceRow]:
    """``query``'s planned steps read along (status, ``key``, id), ``key`` a date column
    of the step, in batches of :data:`BATCH`. PostgreSQL cannot tell that few planned
    steps have a past date (most past steps are done: it guessed 266,249 of 314,400
    planned steps at 20,000 enrollments where there were none) and read every planned
    step; asked in index order with a LIMIT it walks the (status, date) index over the
    few there are, and joins their enrollments by key instead of hashing all of them."""
    step = StepInstanceRow
    ordered = query.order_by(col(step.status), key, col(step.id)).limit(BATCH)
    rows: list[StepInstanceRow] = list(session.exec(ordered))
    found = list(rows)
    while len(rows) == BATCH:
        last = rows[-1]
        at = getattr(last, key.key)
        rows = list(
            session.exec(
                ordered.where(or_(key > at, and_(key == at, col(step.id) > (last.id or 0))))
            )
        )
        found += rows
    return found


def due_steps(session: Session, today: dt.date, *, lead_days: int = 0) -> list[StepInstanceRow]:
    """Planned steps that have become actionable: ``lead_days`` before their date, or on
    the weekday before their first reminder if that is earlier (they become ``due``;
    tasks get a new_task mail, so the first mail about a task is never a reminder)."""
    before_reminder = today + dt.timedelta(days=3 if today.weekday() == 4 else 1)
    planned = _open_steps(today, ("planned",))
    # Two questions, each on its own index ((status, due_date), (status, remind_from)),
    # rather than one OR that PostgreSQL answers by reading every planned step. Only
    # status = 'planned' (not also IN the open statuses): with both, PostgreSQL misjudged
    # the rows and read every planned step through the (status, escalation_date) index.
    due_date, remind_from = col(StepInstanceRow.due_date), col(StepInstanceRow.remind_from)
    until = today + dt.timedelta(days=lead_days)
    by_date = _in_index_order(session, planned.where(due_date <= until), due_date)
    by_reminder = _in_index_order(
        session, planned.where(remind_from <= before_reminder), remind_from
    )
    found = {row.id: row for row in by_date}
    found.update((row.id, row) for row in by_reminder)
    return _in_order(found.values())


def reminders_due(session: Session, today: dt.date) -> list[ReminderDue]:
    """Open steps whose next unhandled reminder date (``next_reminder``) has come, each
    with the latest reminder date reached (if its due date has not passed) and its next
    one. A step the tick has handled is not read again until its next reminder date, so
    a later tick of the day reads none (it read every step inside its reminder window,
    with their enrollments and staff, on every tick)."""
    found: list[ReminderDue] = []
    rows = _in_order(
        session.exec(_open_steps(today).where(col(StepInstanceRow.next_reminder) <= today))
    )
    for row in rows:
        dates = sorted(dt.date.fromisoformat(r) for r in row.reminders)
        reached = [d for d in dates if d <= today]
        later = [d for d in dates if d > today]
        send = reached and row.due_date >= today and row.kind != "session"
        found.append(ReminderDue(row, max(reached) if send else None, min(later, default=None)))
    return found


def escalations_due(
    session: Session, today: dt.date, *, unless_sent: Addressees | None = None
) -> list[StepInstanceRow]:
    """Open steps past their escalation date. With ``unless_sent``, not those whose
    escalation to the person it goes to today is in the outbox already: the row the
    engine would write (``escalation/<step or group>/r<revision>/<staff id>``) is looked
    up by its message id in the database, so a later tick does not read again every
    overdue step it has escalated."""
    if unless_sent is None:
        return _in_order(session.exec(_escalation_query(today, None, None)))
    holders = tuple(sorted(unless_sent.holders.items()))
    cover = tuple(sorted(unless_sent.cover.items()))
    return _in_order(session.exec(_escalation_query(today, holders, cover)))


@lru_cache(maxsize=16)
def _escalation_query(
    today: dt.date,
    holders: tuple[tuple[tuple[str, str], int], ...] | None,
    cover: tuple[tuple[int, int], ...] | None,
) -> Any:
    """The question of :func:`escalations_due`, built once per day and set of addressees
    (a statement is immutable; building it, a CASE per municipality and role, was a fifth
    of a tick's time in the caseload simulation)."""
    query = _open_steps(today).where(
        col(StepInstanceRow.escalation_date) <= today,
        col(StepInstanceRow.escalation_role).is_not(None),
        StepInstanceRow.kind != "session",
    )
    if holders is not None:
        step = StepInstanceRow.__table__.c  # type: ignore[attr-defined]
        who = Addressees(dict(holders), dict(cover or ())).who(step.escalation_role)
        message_id = (
            literal("escalation/", String)
            + _subject(step.id, step.group_key)
            + literal("/r", String)
            + cast(step.revision, String)
            + literal("/", String)
            + cast(who, String)
        )
        outbox = OutboxRow.__table__.c  # type: ignore[attr-defined]
        # a look-up on the unique index per step, not an anti-join: PostgreSQL would
        # hash the whole outbox for it (its LIMIT keeps the subquery a subquery)
        written = select(outbox.id).where(outbox.message_id == message_id).limit(1)
        query = query.where(written.scalar_subquery().is_(None))
    return query


def group_id(group_key: str) -> str:
    """A short, stable id of a group occurrence for message ids and calendar UIDs."""
    return "g" + hashlib.sha256(group_key.encode()).hexdigest()[:20]


class _GroupId(FunctionElement[str]):
    """:func:`group_id` in SQL: PostgreSQL's ``sha256``, SQLite's ``iba_group_id`` (the
    Python function, registered on every connection by ``store.db.make_engine``)."""

    type = String()
    inherit_cache = True
    name = "iba_group_id"


@compiles(_GroupId, "postgresql")
def _group_id_pg(element: _GroupId, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"('g' || substr(encode(sha256(convert_to({arg}, 'UTF8')), 'hex'), 1, 20))"


@compiles(_GroupId)
def _group_id_default(element: _GroupId, compiler: SQLCompiler, **kw: Any) -> str:
    return f"iba_group_id({compiler.process(element.clauses, **kw)})"


def _subject(step_id: Any, group_key: Any) -> Any:
    """What a step's message ids name (``engine.apply.notifications``): its group
    occurrence's :func:`group_id` if it has one, else its id."""
    return case(
        (and_(group_key.is_not(None), group_key != ""), _GroupId(group_key)),
        else_=cast(step_id, String),
    )


@dataclass(frozen=True)
class Addressees:
    """Who a role's mail about an enrollment goes to on one day, as
    ``engine.apply.Recipients.for_role`` answers it, for the database to work out: the
    enrollment's own holder of the role (``enrollment_staff``), else the first active
    staff member of its municipality with the role (``holders``), and then whoever covers
    for that person that day (``cover``)."""

    holders: Mapping[tuple[str, str], int]  # (municipality, role) -> staff id
    cover: Mapping[int, int]  # staff id -> the colleague covering for them

    def who(self, role: Any) -> Any:
        """The staff id, as an SQL expression over ``role`` (a column of the step) and the
        step's enrollment (joined as in ``_open_steps``); NULL for nobody."""
        steps = StepInstanceRow.__table__  # type: ignore[attr-defined]
        enrollments = EnrollmentRow.__table__  # type: ignore[attr-defined]
        assigned = EnrollmentStaffRow.__table__.c  # type: ignore[attr-defined]
        staff_id = assigned.staff_id
        covered = case(dict(self.cover), value=staff_id, else_=staff_id) if self.cover else staff_id
        own = (
            select(covered)
            .where(assigned.enrollment_id == steps.c.enrollment_id, assigned.role == role)
            .correlate(steps, enrollments)  # the step of the outer query, however deep
            .scalar_subquery()
        )
        if not self.holders:
            return own
        first = case(
            *(
                (
                    and_(enrollments.c.municipality == municipality, role == name),
                    self.cover.get(holder, holder),
                )
                for (municipality, name), holder in self.holders.items()
            ),
            else_=null(),
        )
        return func.coalesce(own, first)
