"""The morning digest per person (the default), quiet hours and urgent changes, against
a real store and a real aiosmtpd; the digest rendered in headless Chromium at 390 px."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import select
from world import CANARIES, LINK, Mail, SmtpServer, World, answers, local

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation, replan
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)  # a Monday; the visitation is on Monday 2027-03-01
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def defaults(world: World) -> None:
    """The shipped defaults: morning digest, quiet hours, one mail per person per tick."""
    world.settings = world.settings.model_copy(
        update={"notify_default": "digest", "notify_bundle": True, "notify_quiet_hours": True}
    )


def visit(world: World) -> int:
    with world.session() as s:
        result = record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=START,
        )
    assert result.enrollment_id is not None
    return result.enrollment_id


async def tick_at(world: World, day: dt.date, hour: int = 8, minute: int = 0) -> None:
    world.clock.set(local(day, hour, minute))
    await run_tick(world.open_session, world.ctx, world.settings, owner="notify")


def to(smtp: SmtpServer, world: World, role: str) -> list[Mail]:
    return [m for m in smtp.mails if world.staff_email(role) in m.rcpt_tos]


def html_of(mail: Mail) -> str:
    body = mail.message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


async def test_one_digest_per_working_day_with_links_and_no_personal_data(
    world: World, smtp: SmtpServer
) -> None:
    defaults(world)
    visit(world)
    await tick_at(world, dt.date(2027, 3, 1))  # Monday: the visitation's meetings
    [first] = to(smtp, world, "iba")
    assert first.subject.startswith("Morgenoversigt man. 1. mar.")
    text = first.text
    # "forløbets detaljer ser du via linket": the link to the workspace is there
    assert "står på Min uge (log ind):\nhttp://127.0.0.1:8000/min-uge" in text.replace("\r\n", "\n")
    assert 'href="http://127.0.0.1:8000/min-uge"' in html_of(first)
    assert "NYE, FLYTTEDE OG AFLYSTE (4)" in text.upper() or "MØDER" in text
    assert (
        "Vurdering af om kvinden er klar til praktik (jobcenter og sprogskole) (nyt møde)"
        " · HOP · forløb F-00001"
    ) in text
    assert "Praktiksamtale" not in text, "the company interview waits for the readiness step"
    tokens = LINK.findall(text)
    assert len(tokens) == 4 and len(set(tokens)) == 4, "each item its own single-use link"
    await tick_at(world, dt.date(2027, 3, 1), 10)
    await tick_at(world, dt.date(2027, 3, 1), 15, 59)
    await tick_at(world, dt.date(2027, 3, 6))  # a Saturday: no digest
    assert len(to(smtp, world, "iba")) == 1, "one digest a day, none on a Saturday"
    await tick_at(world, dt.date(2027, 3, 2))  # nothing new, nothing due: no mail
    assert len(to(smtp, world, "iba")) == 1
    await tick_at(world, dt.date(2027, 3, 8))  # the start day
    monday = to(smtp, world, "iba")[-1].text
    assert "Forløb F-00001 er startet" in monday
    # the start measurement (Wednesday; its reminder Tuesday) is new the weekday before:
    # "ny" comes first, never a reminder (IBA_NEW_TASK_LEAD_DAYS, test_new_task_first.py)
    assert "Progressionsmåling ved start (ny)" in monday
    await tick_at(world, dt.date(2027, 3, 9))
    tuesday = to(smtp, world, "iba")[-1]
    assert "I MORGEN, ONS. 10. MAR. (1)" in tuesday.text  # the start measurement
    await tick_at(world, dt.date(2027, 3, 10))
    wednesday = to(smtp, world, "iba")[-1]
    assert "I DAG, ONS. 10. MAR. (1)" in wednesday.text
    assert "Progressionsmåling ved start (ny)" not in wednesday.text
    assert len(to(smtp, world, "iba")) == 4, "the reminder went into the digest, not a mail"
    for mail in smtp.mails:
        everything = mail.subject + mail.text + html_of(mail)
        for canary in CANARIES:
            assert canary.lower() not in everything.lower(), (canary, mail.subject)


async def test_urgent_move_goes_at_once_other_changes_wait_for_the_morning(
    world: World, smtp: SmtpServer
) -> None:
    defaults(world)
    enrollment_id = visit(world)
    for day in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12):
        await tick_at(world, dt.date(2027, 3, day))
    attendees = ("iba", "sprogcenter")  # of klar_til_praktik, the readiness evaluation
    before = {role: len(to(smtp, world, role)) for role in attendees}
    # Friday 20:00: sick leave Monday-Tuesday moves Monday's readiness evaluation (14:30).
    world.clock.set(local(dt.date(2027, 3, 12), 20))
    with world.session() as s:
        replan(
            s,
            world.ctx,
            enrollment_id=enrollment_id,
            pause=(dt.date(2027, 3, 15), dt.date(2027, 3, 16)),
        )
    await tick_at(world, dt.date(2027, 3, 12), 20, 1)
    for role in attendees:
        new = to(smtp, world, role)[before[role] :]
        assert [m.subject.split(" · ")[0] for m in new] == [
            "Ændret: Vurdering af om kvinden er klar til praktik (jobcenter og sprogskole)"
        ], role
    with world.session() as s:  # the other moved meetings wait, held for the digest
        held = s.exec(select(t.OutboxRow).where(t.OutboxRow.status == "held")).all()
        assert held and {r.kind for r in held} == {"change"}
    await tick_at(world, dt.date(2027, 3, 13), 10)  # Saturday: quiet
    assert len(to(smtp, world, "iba")) == before["iba"] + 1
    await tick_at(world, dt.date(2027, 3, 15))
    monday = to(smtp, world, "iba")[-1]
    assert monday.subject.startswith("Morgenoversigt")
    # her later meetings moved too (the group's presentation does not: the group meets)
    assert "Afsluttende evaluering (flyttet fra " in monday.text
    assert "Oplæg fra rengøringsvirksomheden (flyttet" not in monday.text


async def test_digest_reads_well_on_a_phone(world: World, smtp: SmtpServer) -> None:
    """The Friday digest (overdue, escalated, today, next working day) in Chromium at
    390 px: nothing wider than the screen; the screenshot goes to docs/screenshots/."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("headless Chromium is not installed")
        pytest.skip("headless Chromium (Debian package 'chromium') is not installed")
    from playwright.async_api import async_playwright

    defaults(world)
    visit(world)
    for day in (1, 8, 9, 10, 11, 12):
        await tick_at(world, dt.date(2027, 3, day))
    friday = to(smtp, world, "iba")[-1]
    assert friday.subject == "Morgenoversigt fre. 12. mar.: 1 i dag, 1 i morgen, 1 forfaldne"
    assert "Progressionsmåling ved start (forfalden)" in friday.text  # escalated to herself
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.set_content(html_of(friday))
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the digest is {width}px wide on a 390px phone"
            buttons = await page.locator("a", has_text="Åbn").all()
            assert len(buttons) >= 3
            for button in buttons:
                box = await button.bounding_box()
                assert box is not None and box["height"] >= 40, "a button too small to tap"
            docs = ROOT / "docs" / "screenshots"
            docs.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(docs / "morgenoversigt.png"), full_page=True)
        finally:
            await browser.close()
