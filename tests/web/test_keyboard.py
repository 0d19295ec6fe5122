"""The evaluation form by keyboard alone in headless Chromium: Tab reaches every control
in order (the outcome radios, who attended, the note, the button), the focused control
shows a visible outline, Space chooses, and Enter on the button submits."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from dispatch.world import World
from kinds import completion, enroll, first, link

from iba_workflow.engine import complete_step

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ACTIVE = """() => { const e = document.activeElement;
  const label = e.closest('label') || document.querySelector(`label[for="${e.id}"]`);
  const style = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
          value: e.value || '', label: label ? label.innerText.trim() : e.innerText.trim(),
          outline: style.outlineStyle + ' ' + style.outlineWidth}; }"""


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = "headless Chromium (Debian package 'chromium') is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def test_evaluation_form_by_keyboard(world: World, web) -> None:  # type: ignore[no-untyped-def]
    _need_chromium()
    from playwright.async_api import async_playwright

    enroll(world, start=dt.date(2027, 3, 8))
    with world.session() as s:  # assessed ready: the company interview is planned
        ready = first(world, "klar_til_praktik")
        complete_step(s, world.ctx, step_instance_id=ready.id or 0, outcome="klar")
        s.commit()
    step = first(world, "praktiksamtale")
    token = link(world, step, "iba")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{web.url}/t/{token}")
            visited = []
            for _ in range(12):
                await page.keyboard.press("Tab")
                now = await page.evaluate(ACTIVE)
                visited.append(now)
                assert now["outline"] == "solid 3px", f"no visible focus on {now}"
                if now["tag"] == "button":
                    break
            order = [(v["type"] or v["tag"], v["label"].split("\n")[0]) for v in visited]
            assert order == [
                ("radio", "Udvalgt til praktik"),  # one tab stop for the radio group
                ("checkbox", "Leder af rengøringsvirksomheden"),  # the assignee first
                ("checkbox", "Integrations- og beskæftigelsesambassadør (IBA)"),
                ("checkbox", "Borgeren"),
                ("textarea", "Note"),
                ("submit", "Bekræft: opgaven er udført"),
            ], order

            await page.keyboard.press("Shift+Tab")  # back to the radio group, by keyboard
            for _ in range(4):
                await page.keyboard.press("Shift+Tab")
            assert (await page.evaluate(ACTIVE))["name"] == "outcome"
            await page.keyboard.press("ArrowDown")  # arrows move and choose within the group
            await page.keyboard.press("ArrowUp")
            chosen = await page.evaluate(ACTIVE)
            assert chosen["value"] == "udvalgt"
            assert await page.is_checked("input[value=udvalgt]")
            await page.keyboard.press("Tab")
            await page.keyboard.press("Space")  # attended: the company's manager
            for _ in range(3):
                await page.keyboard.press("Tab")
            await page.keyboard.type("Valgt via tastaturet")
            await page.keyboard.press("Tab")
            assert (await page.evaluate(ACTIVE))["tag"] == "button"
            await page.keyboard.press("Enter")
            # planned for a later day: the warning asks again; its button is the first stop
            await page.wait_for_selector("text=Du er ved at registrere den før tid")
            await page.keyboard.press("Tab")
            assert (await page.evaluate(ACTIVE))["tag"] == "button"
            await page.keyboard.press("Enter")
            await page.wait_for_url("**udfoert=1")
            assert "Opgaven er udført" in await page.inner_text("main")
        finally:
            await browser.close()
    done = completion(world, step.id or 0)
    assert done is not None and done.outcome == "udvalgt"
    assert done.data == {"attended": ["leder"], "note": "Valgt via tastaturet"}
