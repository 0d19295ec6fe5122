"""The calendar feed over real HTTP: a person's meetings, and no others; a meeting that
moves moves, an early end empties it, with no mail per meeting; a new address revokes
the old; no link token or personal data in it."""

from __future__ import annotations

import datetime as dt

import httpx
from dispatch.world import CANARIES, LINK, SmtpServer, World, answers, local
from sqlmodel import select

from iba_workflow.dispatch import run_tick
from iba_workflow.dispatch.feed import new_feed_token
from iba_workflow.engine import record_visitation, replan
from iba_workflow.store import tables as t


def feed(world: World, role: str) -> str:
    with world.session() as s:
        token = new_feed_token(s, staff_id=world.staff[role], now=world.clock.now())
        s.commit()
    return token


async def test_feed_follows_the_plan_without_mail(world: World, smtp: SmtpServer, web) -> None:  # type: ignore[no-untyped-def]
    world.settings = world.settings.model_copy(update={"notify_default": "digest"})
    iba, leder = feed(world, "iba"), feed(world, "leder")
    with world.session() as s:
        enrollment_id = record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=dt.date(2027, 3, 8),
        ).enrollment_id
    assert enrollment_id is not None
    await run_tick(world.open_session, world.ctx, world.settings, owner="feed")
    assert all(m.ics_files() == [] for m in smtp.mails), "feed users get no .ics by mail"

    got = httpx.get(f"{web.url}/kalender/{iba}.ics")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
    body = got.text.replace("\r\n ", "")
    assert body.count("BEGIN:VEVENT") == 4  # klar til praktik, oplæg, besøg, slutevaluering
    assert "DTSTART;TZID=Europe/Copenhagen:20270315T143000" in body  # klar til praktik
    assert not LINK.search(body) and "/t/" not in body
    for canary in CANARIES:
        assert canary.lower() not in body.lower()
    manager = httpx.get(f"{web.url}/kalender/{leder}.ics").text
    assert manager.count("BEGIN:VEVENT") == 2, "oplæg and besøg; no evaluation for the manager"

    world.clock.set(local(dt.date(2027, 3, 2), 9))
    with world.session() as s:  # a week later start moves every meeting
        replan(s, world.ctx, enrollment_id=enrollment_id, new_start=dt.date(2027, 3, 15))
    moved = httpx.get(f"{web.url}/kalender/{iba}.ics").text
    assert "DTSTART;TZID=Europe/Copenhagen:20270322T143000" in moved
    assert "20270315T143000" not in moved

    with world.session() as s:  # she leaves: the feed is empty, and no mail per meeting
        replan(s, world.ctx, enrollment_id=enrollment_id, exit_on=dt.date(2027, 3, 3))
    before = len(smtp.mails)
    await run_tick(world.open_session, world.ctx, world.settings, owner="feed")
    assert "BEGIN:VEVENT" not in httpx.get(f"{web.url}/kalender/{iba}.ics").text
    assert not [m for m in smtp.mails[before:] if m.subject.startswith("Aflyst")]
    with world.session() as s:
        assert not s.exec(
            select(t.OutboxRow).where(
                t.OutboxRow.kind == "cancellation", t.OutboxRow.status == "sent"
            )
        ).all()

    again = feed(world, "iba")  # a new address revokes the old one
    assert httpx.get(f"{web.url}/kalender/{iba}.ics").status_code == 404
    assert httpx.get(f"{web.url}/kalender/{again}.ics").status_code == 200
    assert httpx.get(f"{web.url}/kalender/{'x' * 43}.ics").status_code == 404
