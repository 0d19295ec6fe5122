"""Seed a store for the Prefect tests: staff for every internal role, and enrollments
whose steps are already due today, so the dispatcher has real mail to send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.clock import COPENHAGEN, FixedClock, SystemClock
from iba_workflow.definition import Definition
from iba_workflow.dispatch import enqueue_digests
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    enqueue_due_notifications,
    record_visitation,
    register_citizen,
)
from iba_workflow.settings import Settings
from iba_workflow.store.tables import OutboxRow, StaffRow
from iba_workflow.store.work import unit_of_work


def today() -> dt.date:
    return SystemClock().now().astimezone(COPENHAGEN).date()


def start_in(days: int, municipality: str = "hedensted") -> dt.date:
    """The first working day ``days`` or more from today on the shipped calendar: a start
    the planner keeps as given (today + 21 falls on Christmas Eve when run on 3 December,
    and the course would start on 28 December instead)."""
    day = today() + dt.timedelta(days=days)
    moved = calendar_for(municipality, paths.calendars_dir()).shift(day, "next")
    return moved.date if moved else day


def context(at: dt.datetime | None = None) -> EngineContext:
    clock = FixedClock(at) if at is not None else SystemClock()
    return EngineContext(clock=clock, calendars=calendars_from(None), actor="test")


def staff(open_session: Any, d: Definition) -> None:
    """One staff member per internal role (address role@test.invalid)."""
    with unit_of_work(open_session) as session:
        for role in d.roles:
            email = f"{role.id}@test.invalid"
            if (
                role.external
                or session.exec(select(StaffRow).where(StaffRow.email == email)).first()
            ):
                continue
            add_staff(
                session,
                context(),
                name=role.name,
                email=email,
                roles=[role.id],
                municipality=d.municipality,
            )


#: As the stack's ``iba serve`` is configured (tests/prefect/stack.py).
IMMEDIATE = Settings(notify_default="immediate", notify_bundle=False, notify_quiet_hours=False)


def enrollments_due_now(
    open_session: Any, d: Definition, *, count: int, days_ago: int = 21, prefix: str = "D"
) -> int:
    """``count`` enrollments that started ``days_ago`` days ago, and what is due today
    enqueued and routed (with the real clock, as the served dispatcher would). Returns
    the number of pending outbox rows."""
    staff(open_session, d)
    visited = dt.datetime.combine(
        today() - dt.timedelta(days=days_ago + 14), dt.time(9), tzinfo=COPENHAGEN
    ).astimezone(dt.UTC)
    past = context(visited)
    with unit_of_work(open_session) as session:
        for n in range(count):
            ref = f"{prefix}-{n:04d}"
            register_citizen(session, past, ref=ref, municipality=d.municipality)
            record_visitation(
                session,
                past,
                citizen_ref=ref,
                definition=d,
                accept=True,
                answers={c.id: True for c in d.eligibility if not c.health},
                start=today() - dt.timedelta(days=days_ago),
            )
        enqueue_due_notifications(session, context())
    enqueue_digests(open_session, context(), IMMEDIATE)  # routes them: a mail each
    with open_session() as session:
        return len(session.exec(select(OutboxRow).where(OutboxRow.status == "pending")).all())
