"""Issue 11, 'Done when' #1: every workspace page in headless Chromium, signed in as each
role, on a 390 px phone: axe-core finds no serious or critical WCAG 2.1 A/AA violation,
and a screenshot of each page is kept (test-artifacts/workspace/; a few are copied to
docs/screenshots/ for the README). The main flows by keyboard only: complete a task,
pause with its impact, decide a visitation."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from browser import (
    ARTIFACTS,
    CONTEXT,
    SCREENSHOTS,
    axe_source,
    serious_violations,
    session_cookie,
    tab_to,
    type_date,
)
from office import Office, enrol_cohort
from sqlmodel import col, select
from web.test_browser import ARGS, CHROMIUM, _need_chromium

from iba_workflow.store import tables as t

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

ROLE_PAGES = {
    "koordinator": ["/min-uge", "/forloeb", "/forloeb/1", "/visitation?indsats=hop", "/hold",
                    "/indsatser?indsats=hop"],
    "underviser": ["/min-uge", "/forloeb", "/forloeb/1", "/indsatser"],
    "administrator": ["/min-uge", "/medarbejdere", "/indsatser"],
}  # fmt: skip
FOR_README = {
    "koordinator-min-uge": "workspace-min-uge.png",
    "koordinator-forloeb-1": "workspace-forloeb.png",
    "koordinator-visitation": "workspace-visitation.png",
}


def _name(role: str, path: str) -> str:
    return f"{role}-" + path.strip("/").split("?")[0].replace("/", "-")


async def test_every_page_for_every_role_passes_axe(office: Office, web: Any) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    axe = axe_source()
    w = office.world
    enrol_cohort(office)  # Hold with participants, a waiting list and lessons
    staff = {"koordinator": w.staff["iba"], "underviser": w.staff["underviser"],
             "administrator": office.admin_id}  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for role, pages in ROLE_PAGES.items():
                context = await browser.new_context(**CONTEXT)
                await context.add_cookies([session_cookie(w, staff[role], web.url)])
                page = await context.new_page()
                for path in pages:
                    response = await page.goto(f"{web.url}{path}")
                    assert response is not None and response.status == 200, (role, path)
                    assert await page.get_attribute("html", "lang") == "da"
                    name = _name(role, path)
                    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                    found = await serious_violations(page, axe)
                    if found:
                        problems[f"{role} {path}"] = found
                await context.close()
        finally:
            await browser.close()
    assert problems == {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, target in FOR_README.items():
        shutil.copyfile(ARTIFACTS / f"{name}.png", SCREENSHOTS / target)


async def test_keyboard_only_complete_a_task_and_pause_with_impact(
    office: Office, web: Any
) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    w = office.world
    with w.session() as s:
        step = s.exec(
            select(t.StepInstanceRow)
            .where(t.StepInstanceRow.enrollment_id == 1, t.StepInstanceRow.kind == "task",
                   t.StepInstanceRow.assignee_role == "iba",
                   col(t.StepInstanceRow.status).in_(t.OPEN_STEP_STATUSES))
            .order_by(col(t.StepInstanceRow.due_date))
        ).first()  # fmt: skip
    assert step is not None
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(**CONTEXT)
            await context.add_cookies([session_cookie(w, w.staff["iba"], web.url)])
            page = await context.new_page()
            await page.goto(f"{web.url}/min-uge")
            form = f'form[action="/min-uge/opgave/{step.id}"]'
            await tab_to(page, f"details:has({form}) > summary")
            await page.keyboard.press("Enter")  # opens the form
            await tab_to(page, f"{form} textarea")
            await page.keyboard.type("Ringet op")
            await tab_to(page, f"{form} button")
            await page.keyboard.press("Enter")
            await page.wait_for_load_state()
            assert "er registreret" in await page.inner_text("main")
            await page.screenshot(path=str(ARTIFACTS / "kvittering.png"), full_page=True)

            await page.goto(f"{web.url}/forloeb/1")
            await tab_to(page, "#p-fra")
            await type_date(page, "2027-03-01")
            await tab_to(page, "#p-til")
            await type_date(page, "2027-03-12")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#impact-h")
            impact = await page.inner_text("main")
            assert "Før du bekræfter: Pause" in impact and "Flyttes:" in impact
            await page.screenshot(path=str(ARTIFACTS / "pause-impact.png"), full_page=True)
            await tab_to(page, "#bekraeft")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("text=Gemt: Pause")
        finally:
            await browser.close()
    with w.session() as s:
        assert s.get(t.StepInstanceRow, step.id).status == "completed"  # type: ignore[union-attr]
        e = s.get(t.EnrollmentRow, 1)
        assert e is not None and e.adjustments[-1] == {
            "kind": "pause",
            "from": "2027-03-01",
            "to": "2027-03-12",
        }


async def test_keyboard_only_visitation(office: Office, web: Any) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    w = office.world
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(**CONTEXT)
            await context.add_cookies([session_cookie(w, w.staff["iba"], web.url)])
            page = await context.new_page()
            await page.goto(f"{web.url}/visitation?indsats=hop")
            await tab_to(page, "#ref")
            await page.keyboard.press("Control+A")
            await page.keyboard.type("B-0200")
            await page.keyboard.press("Tab")
            await page.keyboard.type("Amal Tastatur")
            await page.keyboard.press("Tab")
            await page.keyboard.type("010285-1234")
            for c in w.definition.eligibility:
                if c.health:
                    continue
                await tab_to(page, f'input[name="kriterie_{c.id}"][value="ja"]')
                await page.keyboard.press("Space")
            await tab_to(page, "#start")
            await type_date(page, "2027-03-15")
            await tab_to(page, 'input[name="beslutning"][value="optag"]')
            await page.keyboard.press("Space")
            await tab_to(page, "#gem-visitation")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("text=Visitationen er gemt")
            await page.screenshot(path=str(ARTIFACTS / "visitation-gemt.png"), full_page=True)
        finally:
            await browser.close()
    with w.session() as s:
        citizen = s.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "B-0200")).one()
        e = s.exec(select(t.EnrollmentRow).where(t.EnrollmentRow.citizen_id == citizen.id)).one()
        assert (e.status, e.start.isoformat()) == ("active", "2027-03-15")
