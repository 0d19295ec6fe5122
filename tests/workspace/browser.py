"""Helpers for the workspace's browser tests: Chromium on a 390 px phone viewport, a
real session cookie per role, axe-core injected into each page, keyboard-only moves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from iba_workflow.identity.sessions import cookie_name, start_session

HERE = Path(__file__).resolve().parent
AXE_DIR = HERE / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "workspace"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
CONTEXT: dict[str, Any] = {
    "viewport": PHONE,
    "locale": "da-DK",
    "timezone_id": "Europe/Copenhagen",
}


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def axe_source() -> str:
    """axe.min.js, pinned by tests/workspace/axe/package-lock.json (``npm ci`` when the
    modules are missing)."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing("npm is not installed: the accessibility checks need axe-core")
        subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=AXE_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_JS.read_text(encoding="utf-8")


async def serious_violations(page: Any, axe: str) -> list[str]:
    """axe-core's serious and critical violations on the page (WCAG 2.1 A and AA)."""
    await page.evaluate(axe + "\n;0")  # evaluated by the driver: the page's CSP stays on
    result = await page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def session_cookie(world: Any, staff_id: int, url: str) -> dict[str, Any]:
    with world.session() as s:
        sid = start_session(s, staff_id=staff_id, now=world.clock.now(), settings=world.settings)
    return {"name": cookie_name(world.settings), "value": sid, "url": url}


async def tab_to(page: Any, selector: str, *, limit: int = 400) -> None:
    """Press Tab until the element ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if await page.evaluate(
            "s => document.activeElement === document.querySelector(s)", selector
        ):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def type_date(page: Any, iso: str) -> None:
    """Type a date into the focused date input by keyboard. The segment order follows
    the browser's own locale (headless Chromium: month first, whatever the page's
    language), so type day first, and if the value shows month first, go back two
    segments (Shift+Tab) and type it the other way."""
    year, month, day = iso.split("-")
    await page.keyboard.type(day + month + year)
    if await page.evaluate("document.activeElement.value") == iso:
        return
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.type(month + day + year)
    assert await page.evaluate("document.activeElement.value") == iso
