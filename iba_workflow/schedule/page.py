"""The week schedule a participant gets on paper: a printable Danish HTML page (the
Jinja2 template ``templates/schedule/week.html.j2``), and a PDF printed from it by
headless Chromium (Playwright's ``page.pdf``). Only her opaque reference is on the page,
with a line to write her name by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import jinja2

from iba_workflow import paths

from .grid import TZ
from .model import WEEKDAY_NAMES, Placement, ScheduleError, WeekHours
from .reasons import hours_text, week_label

CHROMIUM = "/usr/bin/chromium"
_CSS = {"commitment": "fast", "session": "session", "talk": "talk", "activity": "activity"}
_MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)


def _date(day: dt.date) -> str:
    return f"{day.day}. {_MONTHS[day.month - 1]} {day.year}"


def week_html(
    *,
    ref: str,
    intervention: str,
    monday: dt.date,
    placements: Sequence[Placement],
    hours: WeekHours | None,
    closed: dict[dt.date, str],
    reasons: Sequence[str] = (),
    templates_dir: Path | None = None,
) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str((templates_dir or paths.templates_dir()) / "schedule")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    days = []
    for offset in range(5):
        day = monday + dt.timedelta(days=offset)
        items = sorted(
            (p for p in placements if p.start.astimezone(TZ).date() == day and ref in p.people),
            key=lambda p: p.start,
        )
        days.append(
            {
                "heading": f"{WEEKDAY_NAMES[offset].capitalize()} {day.day}/{day.month}",
                "closed": closed.get(day),
                "items": [
                    {
                        "time": f"{p.start.astimezone(TZ):%H:%M}–{p.end.astimezone(TZ):%H:%M}",
                        "name": p.name,
                        "css": _CSS.get(p.kind, "activity"),
                    }
                    for p in items
                ],
            }
        )
    return env.get_template("week.html.j2").render(
        ref=ref,
        intervention=intervention,
        week_label=week_label(monday).capitalize(),
        first_day=_date(monday),
        last_day=_date(monday + dt.timedelta(days=4)),
        days=days,
        hours=hours_text(hours.placed_minutes) if hours else "–",
        target=hours_text(hours.target_minutes) if hours else "–",
        reasons=list(reasons),
    )


def html_to_pdf(html: str, target: Path, *, chromium: str = CHROMIUM) -> Path:
    """Print ``html`` to an A4 landscape PDF with headless Chromium."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ScheduleError(
            "PDF needs Playwright", hint="pip install playwright, or print the HTML page"
        ) from None
    if not Path(chromium).exists():
        raise ScheduleError(f"no Chromium at {chromium}", hint="apt-get install chromium")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load")
                page.pdf(path=str(target), format="A4", landscape=True, print_background=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise ScheduleError(f"Chromium could not print the PDF ({type(exc).__name__})") from None
    return target
