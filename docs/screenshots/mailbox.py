"""Take docs/screenshots/mailbox.png from a running ``iba demo`` (or ``iba up``):

    .venv/bin/iba demo &          # wait until it shows "Where to look"
    .venv/bin/python docs/screenshots/mailbox.py [http://127.0.0.1:8025]

Headless Chromium (Debian package ``chromium``) through Playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8025"
    target = Path(__file__).with_name("mailbox.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(url)
            page.screenshot(path=str(target))
        finally:
            browser.close()
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
