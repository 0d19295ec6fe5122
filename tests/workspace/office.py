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
from dispatch.world import World, answers

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
