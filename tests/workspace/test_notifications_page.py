"""Mine notifikationer over real HTTP (issue 16, points 2 and 5): a person chooses per
kind between the morning digest and a mail at once, and the dispatcher obeys (real
aiosmtpd); she makes, replaces and stops her calendar feed; nobody changes another's
choices; a post without CSRF is refused; the page at 390 px passes axe-core."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
import pytest
from browser import ARTIFACTS, CONTEXT, axe_source, serious_violations, session_cookie
from dispatch.world import Mail, SmtpServer, World, answers, local
from office import SignedIn
from sqlmodel import select
from web.test_browser import ARGS, CHROMIUM, _need_chromium

from iba_workflow.dispatch import run_tick
from iba_workflow.dispatch.preferences import KINDS
from iba_workflow.engine import record_visitation
from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FEED = re.compile(r'id="kalender-adresse" readonly value="([^"]+)"')
PAGE = "/mine-notifikationer"


def _csrf(text: str) -> str:
    found = CSRF.search(text)
    assert found
    return found.group(1)


def _shipped_defaults(world: World) -> None:
    """Morning digest, bundling and quiet hours, as shipped; changed in place so the
    running web app sees the same settings as the dispatcher."""
    world.settings.notify_default = "digest"
    world.settings.notify_bundle = True
    world.settings.notify_quiet_hours = True


def _modes(world: World, role: str) -> dict[str, str]:
    with world.session() as s:
        rows = s.exec(
            select(t.NotificationPreferenceRow).where(
                t.NotificationPreferenceRow.staff_id == world.staff[role]
            )
        ).all()
        return {r.kind: r.mode for r in rows}


def _checked(text: str, kind: str) -> str:
    found = re.search(rf'name="{kind}" value="(\w+)" checked', text)
    assert found, kind
    return found.group(1)


def _to(smtp: SmtpServer, world: World, role: str) -> list[Mail]:
    return [m for m in smtp.mails if world.staff_email(role) in m.rcpt_tos]


async def test_immediate_chosen_on_the_page_is_obeyed_by_the_dispatcher(
    world: World, smtp: SmtpServer, signed_in: SignedIn
) -> None:
    _shipped_defaults(world)
    leder = signed_in(world.staff["leder"])
    page = leder.get("/min-uge").text
    assert f'href="{PAGE}"' in page, "linked from the workspace navigation"
    page = leder.get(PAGE).text
    assert "Mine notifikationer" in page and "kommer altid med det samme" in page
    assert _checked(page, "meeting_invitation") == "digest"
    choice = {kind: "digest" for kind in KINDS} | {"meeting_invitation": "immediate"}
    saved = leder.post(PAGE, data={"csrf": _csrf(page), **choice})
    assert saved.status_code == 200 and "Dine valg er gemt" in saved.text
    assert _checked(saved.text, "meeting_invitation") == "immediate"
    assert _modes(world, "leder")["meeting_invitation"] == "immediate"

    world.clock.set(local(dt.date(2027, 3, 1), 8))
    await run_tick(world.open_session, world.ctx, world.settings, owner="prefs")  # the morning
    before = {role: len(_to(smtp, world, role)) for role in ("leder", "iba")}
    world.clock.set(local(dt.date(2027, 3, 1), 10))
    with world.session() as s:
        record_visitation(
            s, world.ctx, citizen_ref=world.citizen_ref, definition=world.definition,
            accept=True, answers=answers(world.definition), start=dt.date(2027, 3, 8),
        )  # fmt: skip
    await run_tick(world.open_session, world.ctx, world.settings, owner="prefs")
    [mail] = _to(smtp, world, "leder")[before["leder"] :]  # at once, as a mail of its own
    assert not mail.subject.startswith("Morgenoversigt")
    assert mail.ics_files() and "METHOD:REQUEST" in mail.ics_files()[0]
    assert _to(smtp, world, "iba")[before["iba"] :] == [], "who chose nothing waits"
    world.clock.set(local(dt.date(2027, 3, 2), 8))
    await run_tick(world.open_session, world.ctx, world.settings, owner="prefs")
    [iba] = _to(smtp, world, "iba")[before["iba"] :]  # the next morning's digest
    assert iba.subject.startswith("Morgenoversigt") and iba.ics_files() == []


def test_nobody_changes_another_persons_choices(world: World, signed_in: SignedIn) -> None:
    _shipped_defaults(world)
    leder = signed_in(world.staff["leder"])
    page = leder.get(PAGE).text
    leder.post(PAGE, data={"csrf": _csrf(page), "reminder": "immediate"})
    assert _modes(world, "leder") == {"reminder": "immediate"}

    iba = signed_in(world.staff["iba"])
    own = iba.get(PAGE).text
    assert _checked(own, "reminder") == "digest", "she sees her own choices, not the leder's"
    other = iba.post(  # a forged staff id is ignored: only one's own rows are written
        PAGE, data={"csrf": _csrf(own), "reminder": "digest", "staff_id": world.staff["leder"]}
    )
    assert other.status_code == 200
    assert _modes(world, "leder") == {"reminder": "immediate"}
    assert _modes(world, "iba") == {"reminder": "digest"}
    stolen = iba.post(PAGE, data={"csrf": _csrf(page), "reminder": "immediate"})
    assert stolen.status_code == 400, "the leder's form token is not hers"
    assert _modes(world, "iba") == {"reminder": "digest"}


def test_a_post_without_csrf_or_session_is_refused(world: World, signed_in: SignedIn) -> None:
    leder = signed_in(world.staff["leder"])
    refused = leder.post(PAGE, data={"reminder": "immediate"})
    assert refused.status_code == 400
    feed = leder.post(PAGE + "/kalender", data={"handling": "opret"})
    assert feed.status_code == 400
    anonymous = httpx.post(
        leder.base_url.join(PAGE), data={"reminder": "immediate"}, follow_redirects=False
    )
    assert anonymous.status_code in (303, 401, 403)
    bad = leder.post(PAGE, data={"csrf": _csrf(leder.get(PAGE).text), "reminder": "straks"})
    assert bad.status_code == 422 and "Vælg for hver slags" in bad.text
    with world.session() as s:
        assert s.exec(select(t.NotificationPreferenceRow)).all() == []
        assert s.exec(select(t.CalendarFeedRow)).all() == []


def _feed_url(text: str) -> str:
    found = FEED.search(text)
    assert found, "the secret address is shown"
    return html.unescape(found.group(1))


def test_feed_made_replaced_and_stopped_on_the_page(world: World, signed_in: SignedIn) -> None:
    leder = signed_in(world.staff["leder"])
    page = leder.get(PAGE).text
    assert "Du har ingen kalender-adresse" in page
    made = leder.post(PAGE + "/kalender", data={"csrf": _csrf(page), "handling": "opret"})
    assert made.status_code == 200 and "Abonner fra internettet" in made.text
    first = _feed_url(made.text)
    assert "/kalender/" in first and first.endswith(".ics")
    got = httpx.get(first)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in got.text
    again = leder.get(PAGE).text
    assert "Du har en kalender-adresse" in again and first not in again, "shown once only"

    replaced = leder.post(PAGE + "/kalender", data={"csrf": _csrf(again), "handling": "erstat"})
    second = _feed_url(replaced.text)
    assert second != first and "den gamle virker ikke længere" in replaced.text
    assert httpx.get(first).status_code == 404
    assert httpx.get(second).status_code == 200

    stopped = leder.post(PAGE + "/kalender", data={"csrf": _csrf(again), "handling": "stop"})
    assert stopped.status_code == 200 and "stoppet" in stopped.text
    assert httpx.get(second).status_code == 404
    assert "Du har ingen kalender-adresse" in stopped.text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_the_page_on_a_phone_passes_axe(world: World, web: Any) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    axe = axe_source()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(**CONTEXT)
            await context.add_cookies([session_cookie(world, world.staff["iba"], web.url)])
            page = await context.new_page()
            response = await page.goto(f"{web.url}{PAGE}")
            assert response is not None and response.status == 200
            await page.get_by_role("button", name="Lav min kalender-adresse").click()
            await page.wait_for_selector("#kalender-adresse")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, "nothing wider than the phone"
            await page.screenshot(path=str(ARTIFACTS / "mine-notifikationer.png"), full_page=True)
            found = await serious_violations(page, axe)
            await context.close()
        finally:
            await browser.close()
    assert found == []
