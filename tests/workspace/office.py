"""Helpers and fixtures for the workspace tests: the web tests' world (HOP in Hedensted, staff for
every role, the canary citizen) served over real HTTP, plus an office: the IBA
coordinates HOP, an administrator, and enrollments to look at; ``signed_in`` gives an
httpx client with a real server-side session for a staff member."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dispatch.world import World, answers, definition

from iba_workflow.clock import COPENHAGEN
from iba_workflow.engine import add_staff, record_visitation, register_citizen
from iba_workflow.identity.sessions import cookie_name, start_session
from iba_workflow.identity.staff import add_coordinates

START = dt.date(2027, 2, 15)  # two weeks before the world's Monday, 1 March 2027


@dataclass
class Office:
    world: World
    admin_id: int
    enrollments: list[int]


def enrol(w: World, ref: str, *, start: dt.date = START) -> int:
    with w.session() as s:
        if ref != w.citizen_ref:
            register_citizen(s, w.ctx, ref=ref, municipality="hedensted", name=f"Borger {ref}")
        result = record_visitation(
            s, w.ctx, citizen_ref=ref, definition=w.definition, accept=True,
            answers=answers(w.definition), start=start,
        )  # fmt: skip
    assert result.enrollment_id is not None
    return result.enrollment_id


@pytest.fixture
def office(world: World) -> Office:
    with world.session() as s:
        add_coordinates(s, world.staff["iba"], ["hop"], now=world.clock.now(), actor="tests")
        admin = add_staff(
            s, world.ctx, name="Alma Administrator", email="admin@jobcenter.test",
            roles=["admin"], municipality="hedensted",
        )  # fmt: skip
    monday = world.clock.now()
    world.clock.set(monday - dt.timedelta(days=19))  # visitation on Wednesday 10 February
    ids = [enrol(world, world.citizen_ref)]
    world.clock.set(monday)
    ids.append(enrol(world, "B-0002", start=dt.date(2027, 3, 8)))
    return Office(world, admin.id or 0, ids)


def enrol_cohort(office: Office) -> list[tuple[int, str]]:
    """Six visitations in January for De internationale's cohort hold_2027 (start 1
    February 2027, 5 places), one a day, which the IBA coordinates: five participants
    and one on the waiting list. The clock is back on its Monday afterwards."""
    w = office.world
    d = definition("de_internationale")
    monday = w.clock.now()
    w.clock.set(dt.datetime(2027, 1, 4, 9, tzinfo=COPENHAGEN))
    ids = []
    with w.session() as s:
        add_coordinates(s, w.staff["iba"], [d.id], now=w.clock.now(), actor="tests")
        for n in range(1, 7):
            ref = f"H-{n:04d}"
            register_citizen(s, w.ctx, ref=ref, municipality="hedensted", name=f"Hold {n}")
            w.clock.set(w.clock.now() + dt.timedelta(days=1))  # one a day: the list's order
            r = record_visitation(s, w.ctx, citizen_ref=ref, definition=d, accept=True,
                                  answers=answers(d), cohort="hold_2027")  # fmt: skip
            ids.append((r.enrollment_id or 0, r.decision))
        s.commit()
    w.clock.set(monday)
    assert [decision for _, decision in ids] == ["accepted"] * 5 + ["waiting"]
    return ids


SignedIn = Callable[[int], httpx.Client]


@pytest.fixture
def signed_in(world: World, web: Any) -> Iterator[SignedIn]:
    clients: list[httpx.Client] = []

    def make(staff_id: int) -> httpx.Client:
        with world.session() as s:
            sid = start_session(
                s, staff_id=staff_id, now=world.clock.now(), settings=world.settings
            )
        client = httpx.Client(base_url=web.url, timeout=20, follow_redirects=True)
        client.cookies.set(cookie_name(world.settings), sid)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()
