"""E-mail sign-in in headless Chromium on a phone-sized viewport: type the work address
(by its label), the mail arrives at aiosmtpd, open its link, press "Log ind", Min uge,
sign out; the session cookie is HttpOnly and SameSite=Lax, and after sign-out Min uge
sends the browser back to /log-ind."""

from __future__ import annotations

import asyncio
from typing import Any

from dispatch.world import SmtpServer, World
from identity_helpers import SIGN_IN_LINK
from test_browser import ARGS, CHROMIUM, ROOT, _need_chromium


async def test_sign_in_by_mail_in_chromium(world: World, smtp: SmtpServer, web: Any) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    iba = world.staff_email("iba")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            await page.goto(f"{web.url}/min-uge")
            assert page.url.endswith("/log-ind")  # not signed in: to the sign-in page
            await page.get_by_label("Arbejdsmail").fill(iba)
            await page.screenshot(path=str(artifacts / "sign-in.png"), full_page=True)
            await page.get_by_role("button", name="Send mig et link").click()
            await page.wait_for_url("**/log-ind/sendt")
            assert "Tjek din mail" in await page.inner_text("main")

            mail = await asyncio.to_thread(smtp.wait_for, lambda m: iba in m.rcpt_tos)
            link = SIGN_IN_LINK.search(mail.text)
            assert link is not None
            await page.goto(link.group(0))
            await page.get_by_role("button", name="Log ind").click()
            await page.wait_for_url("**/min-uge")
            main = await page.inner_text("main")
            assert "Min uge" in main and "Integrations- Medarbejder" in main
            await page.screenshot(path=str(artifacts / "min-uge.png"), full_page=True)
            [cookie] = [c for c in await context.cookies() if c["name"] == "iba_session"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            assert await page.evaluate("document.cookie") == ""  # no script can read it

            await page.get_by_role("button", name="Log ud", exact=True).click()
            await page.wait_for_url("**/log-ind?ud=1")
            assert "Du er logget ud" in await page.inner_text("main")
            await page.goto(f"{web.url}/min-uge")
            assert page.url.endswith("/log-ind")
            await page.goto(link.group(0))  # the link was used
            assert "allerede brugt" in await page.inner_text("main")
        finally:
            await browser.close()
