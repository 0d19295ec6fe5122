"""Forløb: the enrollments a person may see, filtered and searched, a page at a time;
each row with the citizen's reference, the intervention, week n of N, the next step and
what is overdue. Aggregates are computed in SQL for the rows of one page only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, literal_column, or_
from sqlmodel import Session, col, select

from iba_workflow.definition import Definition
from iba_workflow.dispatch.compose import enrollment_ref
from iba_workflow.engine.definitions import stored_definition
from iba_workflow.identity.policy import Actor
from iba_workflow.store.tables import (
    OPEN_STEP_STATUSES,
    CitizenRow,
    EnrollmentRow,
    EnrollmentStaffRow,
    StepInstanceRow,
    not_a_lesson,
)

PAGE_SIZE = 50
F_NUMBER = re.compile(r"^\s*F-?0*(\d+)\s*$", re.IGNORECASE)
STATUS_WORDS = {
    "active": "I gang",
    "waiting": "Venteliste",
    "ended": "Afsluttet",
    "exited": "Afsluttet før tid",
    "completed": "Gennemført",
}


@dataclass(frozen=True)
class Filters:
    intervention: str = ""
    status: str = "active"
    cohort: int | None = None
    overdue: bool = False
    mine: bool = False
    q: str = ""
    page: int = 1

    def query(self, **change: Any) -> str:
        from urllib.parse import urlencode

        values = {**self.__dict__, **change}
        keep = {
            k: ("1" if v is True else v)
            for k, v in values.items()
            if v not in ("", None, False, 1) or (k == "page" and v != 1)
        }
        return urlencode(keep)


@dataclass(frozen=True)
class EnrollmentLine:
    id: int
    ref: str
    citizen_ref: str
    intervention: str
    status: str
    week: int
    weeks: int
    next_name: str | None
    next_date: dt.date | None
    overdue: int
    first_overdue: dt.date | None


def total_weeks(
    session: Session, e: EnrollmentRow, known: dict[tuple[str, int], Definition] | None = None
) -> int:
    """Weeks of the enrollment with its extensions; ``known`` keeps the definitions read
    (one read per definition version, not one per row of a list)."""
    known = {} if known is None else known
    key = (e.definition_id, e.definition_version)
    if key not in known:
        known[key] = stored_definition(session, *key)
    d = known[key]
    extra = sum(int(a.get("weeks", 0)) for a in e.adjustments if a.get("kind") == "extend")
    return (e.duration_weeks or d.duration.default) + extra


def week_of(e: EnrollmentRow, today: dt.date, weeks: int) -> int:
    return max(0, min(weeks, (today - e.start).days // 7 + 1))


def _overdue_clause(today: dt.date) -> Any:
    return exists().where(
        col(StepInstanceRow.enrollment_id) == EnrollmentRow.id,
        col(StepInstanceRow.status).in_(OPEN_STEP_STATUSES),
        not_a_lesson(),
        col(StepInstanceRow.due_date) < today,
    )


def visible_clause(actor: Actor) -> Any:
    """Which enrollments the list may show: the coordinated interventions of one's own
    municipality; others see the ones they hold a role or a step in (the minimum)."""
    own = col(EnrollmentRow.municipality) == actor.municipality
    coordinated = col(EnrollmentRow.definition_id).in_(sorted(actor.coordinates))
    return and_(own, or_(coordinated, _involved_clause(actor)))


def _involved_clause(actor: Actor) -> Any:
    return or_(
        exists().where(
            col(EnrollmentStaffRow.enrollment_id) == EnrollmentRow.id,
            col(EnrollmentStaffRow.staff_id) == actor.staff_id,
        ),
        exists().where(
            col(StepInstanceRow.enrollment_id) == EnrollmentRow.id,
            or_(
                col(StepInstanceRow.assigned_staff_id) == actor.staff_id,
                col(StepInstanceRow.assignee_role).in_(sorted(actor.roles)),
            ),
        ),
    )


def list_enrollments(
    session: Session, actor: Actor, f: Filters, *, today: dt.date, names: dict[str, str]
) -> tuple[list[EnrollmentLine], int]:
    where: list[Any] = [visible_clause(actor)]
    if f.intervention:
        where.append(EnrollmentRow.definition_id == f.intervention)
    if f.status:
        where.append(EnrollmentRow.status == f.status)
    if f.cohort is not None:
        where.append(EnrollmentRow.cohort_id == f.cohort)
    if f.overdue:
        where.append(_overdue_clause(today))
    if f.mine:
        where.append(_involved_clause(actor))
    if f.q.strip():
        found = F_NUMBER.match(f.q)
        if found:
            where.append(EnrollmentRow.id == int(found.group(1)))
        else:
            where.append(func.lower(CitizenRow.ref).contains(f.q.strip().lower()))
    base = (
        select(EnrollmentRow, CitizenRow.ref)
        .join(CitizenRow, col(CitizenRow.id) == EnrollmentRow.citizen_id)
        .where(*where)
    )
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(
        base.order_by(col(EnrollmentRow.definition_id), col(EnrollmentRow.id))
        .offset((max(1, f.page) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    nexts, late = _next_and_late(session, [e.id or 0 for e, _ in rows], today)
    lines = []
    known: dict[tuple[str, int], Definition] = {}
    for e, citizen_ref in rows:
        weeks = total_weeks(session, e, known)
        nxt = nexts.get(e.id or 0)
        n_late, first_late = late.get(e.id or 0, (0, None))
        lines.append(
            EnrollmentLine(
                e.id or 0,
                enrollment_ref(e.id or 0),
                citizen_ref,
                names.get(e.definition_id, e.definition_id),
                e.status,
                week_of(e, today, weeks),
                weeks,
                nxt[0] if nxt else None,
                nxt[1] if nxt else None,
                n_late,
                first_late,
            )
        )
    return lines, int(total)


def _next_and_late(
    session: Session, ids: list[int], today: dt.date
) -> tuple[dict[int, tuple[str, dt.date]], dict[int, tuple[int, dt.date]]]:
    """For the enrollments of one page, in one query: the next open step of each, and how
    many are overdue since when. ``status || ''`` keeps SQLite (which has no statistics)
    from walking the status index for what the enrollment index answers in a few rows."""
    nexts: dict[int, tuple[str, dt.date]] = {}
    late: dict[int, tuple[int, dt.date]] = {}
    if not ids:
        return nexts, late
    status = col(StepInstanceRow.status).concat(literal_column("''"))
    for eid, name, due in session.exec(
        select(
            col(StepInstanceRow.enrollment_id), col(StepInstanceRow.name),
            col(StepInstanceRow.due_date),
        )
        .where(col(StepInstanceRow.enrollment_id).in_(ids), status.in_(OPEN_STEP_STATUSES))
        .where(not_a_lesson())
        .order_by(
            col(StepInstanceRow.enrollment_id), col(StepInstanceRow.due_date),
            col(StepInstanceRow.id),
        )
    ):  # fmt: skip
        if due < today:
            n, first = late.get(eid, (0, due))
            late[eid] = (n + 1, first)
        elif eid not in nexts:
            nexts[eid] = (str(name), due)
    return nexts, late
