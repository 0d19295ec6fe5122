"""The first tick of a day routes every new notification and writes the digests with a
fixed number of SQL statements, whatever the number of enrollments (one query per kind
of row, not two or more per enrollment): a tick stays short with 1,000 citizens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event
from test_notify_digest import defaults
from world import World, answers, local

from iba_workflow.dispatch.digest import enqueue_digests
from iba_workflow.engine import record_visitation, register_citizen

START = dt.date(2027, 3, 8)  # a Monday; the visitations are on Monday 2027-03-01


def enroll(world: World, refs: list[str]) -> None:
    for ref in refs:
        with world.session() as s:
            register_citizen(s, world.ctx, ref=ref, municipality=world.definition.municipality)
            d = world.definition
            record_visitation(s, world.ctx, citizen_ref=ref, definition=d, accept=True,
                              answers=answers(d), start=START)  # fmt: skip


def statements_of_first_tick(world: World, day: dt.date) -> tuple[int, int]:
    """(SQL statements, mails written) of the day's first digest tick."""
    counted = 0

    def count(*_args: object) -> None:
        nonlocal counted
        counted += 1

    world.clock.set(local(day, 8, 5))
    event.listen(world.engine, "before_cursor_execute", count)
    try:
        made = enqueue_digests(world.open_session, world.ctx, world.settings)
    finally:
        event.remove(world.engine, "before_cursor_execute", count)
    return counted, made


def test_the_first_tick_of_a_day_asks_as_much_for_six_enrollments_as_for_two(
    world: World,
) -> None:
    defaults(world)
    enroll(world, ["Q-1", "Q-2"])
    with_two, made = statements_of_first_tick(world, dt.date(2027, 3, 1))
    assert made > 0  # digests were written: the tick did its work
    world.clock.set(local(dt.date(2027, 3, 1), 17))
    enroll(world, ["Q-3", "Q-4", "Q-5", "Q-6", "Q-7", "Q-8"])
    with_six_more, made = statements_of_first_tick(world, dt.date(2027, 3, 2))
    assert made > 0
    assert with_six_more <= with_two, (with_two, with_six_more)


def test_outside_working_hours_a_tick_does_not_read_what_is_held(world: World) -> None:
    """Before the day's work starts what the engine wrote waits (held) for the digest: a
    tick then routes what is new and reads nothing of the held rows, however many."""
    from sqlmodel import col, func, select

    from iba_workflow.dispatch import enqueue_due
    from iba_workflow.store import tables as t

    defaults(world)
    enroll(world, ["H-1", "H-2", "H-3"])
    world.clock.set(local(START + dt.timedelta(weeks=3), 6))  # before working hours
    enqueue_due(world.open_session, world.ctx)
    assert enqueue_digests(world.open_session, world.ctx, world.settings) == 0
    with world.session() as s:
        held = s.exec(
            select(func.count()).select_from(t.OutboxRow).where(col(t.OutboxRow.status) == "held")
        ).one()
    assert held > 0
    read = 0

    def loaded(*_args: object) -> None:
        nonlocal read
        read += 1

    world.clock.set(local(START + dt.timedelta(weeks=3), 7))
    event.listen(t.OutboxRow, "load", loaded)
    try:
        assert enqueue_digests(world.open_session, world.ctx, world.settings) == 0
    finally:
        event.remove(t.OutboxRow, "load", loaded)
    assert read == 0, read
