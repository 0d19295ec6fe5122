"""Issue 10, 'Done when': signing in through a real OpenID Connect provider works in
headless Chromium, and a replayed callback (``state``) is refused.

The provider is the npm package ``oidc-provider`` run by Node (``oidc_fixtures``); our
web app runs under uvicorn on a free port; Chromium types the staff member's e-mail on
the provider's login page. Nothing is faked: discovery, PKCE, the code exchange and the
ID token's signature all go over real HTTP.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dispatch.world import free_port
from oidc_fixtures import OidcTestProvider, serve_app
from sqlmodel import select

from iba_workflow.clock import SystemClock
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store.identity import StaffSessionRow
from iba_workflow.store.tables import StaffRow
from iba_workflow.web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
STAFF = "iba.hedensted@example.org"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = "headless Chromium (Debian package 'chromium') is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class Site:
    """Our web app with OIDC configured against the test provider, and its store."""

    def __init__(self, provider: OidcTestProvider, store: Path, tmp: Path, *, public: bool):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        client = provider.register_web_client(f"{self.url}/log-ind/oidc/callback", public=public)
        self.settings = Settings(
            data_dir=tmp,
            base_url=self.url,
            secret_key="k" * 43,
            oidc_issuer=provider.issuer,
            oidc_client_id=client["client_id"],
            oidc_client_secret=client.get("client_secret"),
            oidc_provider_name="Testudbyder",
        )
        self.engine = make_engine(f"sqlite:///{store}")
        self.open_session = session_factory(self.engine)
        self.app = create_app(self.settings, self.open_session, SystemClock())

    def add_staff(self, email: str, *, active: bool = True) -> int:
        with self.open_session() as db:
            row = StaffRow(
                name="Ida Hedensted", email=email, roles=["iba"], municipality="hedensted",
                active=active, created_at=SystemClock().now(),
            )  # fmt: skip
            db.add(row)
            db.commit()
            assert row.id is not None
            return row.id


@pytest.fixture(params=["confidential", "public"])
def site(
    request: pytest.FixtureRequest,
    oidc_provider: OidcTestProvider,
    sqlite_template: Path,
    tmp_path: Path,
) -> Iterator[Site]:
    store = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, store)
    made = Site(oidc_provider, store, tmp_path, public=request.param == "public")
    yield made
    made.engine.dispose()


async def _sign_in_as(page: Any, site: Site, email: str, *, abort: bool = False) -> int:
    """From our sign-in page's button through the provider's login page back to our
    callback; the callback's HTTP status."""
    answers: list[int] = []

    def seen(response: Any) -> None:
        if "/log-ind/oidc/callback" in response.url:
            answers.append(response.status)

    page.on("response", seen)
    await page.goto(f"{site.url}/log-ind")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "log-ind-oidc.png"), full_page=True)
    await page.get_by_role("link", name="Log ind med Testudbyder").click()
    await page.wait_for_load_state()
    assert await page.title() == "Testudbyder · log ind", "not on the provider's login page"
    if abort:
        await page.get_by_role("button", name="Afbryd").click()
    else:
        await page.get_by_label("E-mail").fill(email)
        await page.get_by_role("button", name="Log ind").click()

    def back_with_us(url: str) -> bool:
        ours = url.startswith(site.url)
        return ours and ("/log-ind/oidc/callback" in url or "/log-ind/oidc" not in url)

    await page.wait_for_url(back_with_us)
    await page.wait_for_load_state()
    page.remove_listener("response", seen)
    [status] = answers
    return status


async def test_staff_member_signs_in_through_the_provider(site: Site) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    staff_id = site.add_staff(STAFF)
    callbacks: list[str] = []
    with serve_app(site.app, site.port) as log:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                page = await context.new_page()
                page.on(
                    "request",
                    lambda r: (
                        callbacks.append(r.url) if "/log-ind/oidc/callback" in r.url else None
                    ),
                )
                assert await _sign_in_as(page, site, "Iba.Hedensted@Example.org") == 303
                assert page.url == f"{site.url}/min-uge"
                assert "Du er logget ind som Ida Hedensted." in await page.inner_text("main")
                cookies = {c["name"]: c["value"] for c in await context.cookies(site.url)}

                # the same callback again (browser history, a proxy log): refused
                [callback] = callbacks
                replay = await page.goto(callback)
                assert replay is not None and replay.status == 400
                text = await page.inner_text("main")
                assert "Dette log ind-forsøg er allerede brugt." in text
                assert "Start forfra" in text
            finally:
                await browser.close()

    sid = cookies["iba_session"]
    assert "iba_oidc" not in cookies, "the binding cookie is gone after the callback"
    with site.open_session() as db:
        [session_row] = db.exec(select(StaffSessionRow)).all()
    assert session_row.staff_id == staff_id
    assert session_row.method == "oidc"
    assert session_row.sid_hash == hashlib.sha256(sid.encode()).hexdigest()

    secrets_seen = [sid, *callback.split("?", 1)[1].replace("&", "=").split("=")[1::2]]
    assert any("/log-ind/oidc/callback?…" in line for line in log.lines), log.lines
    for line in log.lines:
        for secret in secrets_seen:
            assert secret not in line, f"a code, state or session id in the log: {line}"


async def test_unknown_staff_and_cancelled_sign_in_get_danish_sentences(site: Site) -> None:
    """Unknown and deactivated staff, and a cancelled sign-in, each get a Danish page;
    "Log ind med en anden konto" makes the provider ask who is signing in again."""
    _need_chromium()
    from playwright.async_api import async_playwright

    site.add_staff("ophoert@example.org", active=False)
    site.add_staff(STAFF)
    with serve_app(site.app, site.port):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                # a fresh browser for each person: the provider remembers who signed in
                page = await (await browser.new_context()).new_page()
                assert await _sign_in_as(page, site, "ukendt@example.org") == 403
                text = await page.inner_text("main")
                assert "Du er ikke oprettet som medarbejder i iba-workflow." in text
                assert "Bed administratoren om at oprette dig." in text
                # signed in at the provider with the wrong account: try another one
                await page.get_by_role("link", name="Log ind med en anden konto").click()
                assert await page.title() == "Testudbyder · log ind", "the provider asks again"
                await page.get_by_label("E-mail").fill(STAFF)
                await page.get_by_role("button", name="Log ind").click()
                await page.wait_for_url(f"{site.url}/min-uge")
                assert "Du er logget ind som Ida Hedensted." in await page.inner_text("main")

                page = await (await browser.new_context()).new_page()
                assert await _sign_in_as(page, site, "ophoert@example.org") == 403
                assert "Bed administratoren om at åbne den igen." in await page.inner_text("main")

                page = await (await browser.new_context()).new_page()
                assert await _sign_in_as(page, site, "", abort=True) == 400
                text = await page.inner_text("main")
                assert "Log ind blev afbrudt" in text
                assert "Traceback" not in await page.content()
            finally:
                await browser.close()
    with site.open_session() as db:
        sessions = db.exec(select(StaffSessionRow)).all()
    assert len(sessions) == 1, "only the known, active staff member was signed in"
