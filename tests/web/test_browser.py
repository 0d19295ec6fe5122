"""Issue 5, 'Done when' #1 in headless Chromium: the mail's link opened on a phone-sized
viewport, the form filled by keyboard-reachable labels, the step completed; a screenshot
of the task page goes to test-artifacts/ (and docs/screenshots/task-page.png)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from dispatch.world import SmtpServer, World, answers, snapshot

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = "headless Chromium (Debian package 'chromium') is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def test_task_page_in_chromium(world: World, smtp: SmtpServer, web) -> None:  # type: ignore[no-untyped-def]
    _need_chromium()
    from playwright.async_api import async_playwright

    with world.session() as s:
        record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=dt.date(2027, 3, 8),
        )
    await run_tick(world.open_session, world.ctx, world.settings, owner="browser")
    [mail] = [
        m
        for m in smtp.mails
        if "Vurdering af om kvinden er klar til praktik" in m.subject
        and world.staff_email("iba") in m.rcpt_tos
    ]
    before = snapshot(world)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{web.url}/t/{mail.token}")
            assert await page.title() == (
                "Vurdering af om kvinden er klar til praktik (jobcenter og sprogskole)"
                " · iba-workflow"
            )
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            shot = artifacts / "task-page.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert snapshot(world) == before, "opening the page changed the record"
            await page.get_by_label("Klar til praktiksamtale").check()
            await page.get_by_label("Note").fill("Godt møde")
            await page.get_by_role("button", name="Bekræft: opgaven er udført").click()
            # planned for a later day: the warning, with what completing it now changes
            await page.wait_for_selector("text=Du er ved at registrere den før tid")
            assert snapshot(world) == before, "the warning changed the record"
            await page.screenshot(path=str(artifacts / "task-page-early.png"), full_page=True)
            await page.get_by_role("button", name="Ja, registrér den nu").click()
            await page.wait_for_url("**udfoert=1")
            assert "Opgaven er udført" in await page.inner_text("main")
            await page.screenshot(path=str(artifacts / "task-page-done.png"), full_page=True)
        finally:
            await browser.close()
    docs = ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, docs / "task-page.png")
    assert snapshot(world) != before
