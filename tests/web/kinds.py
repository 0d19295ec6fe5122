"""Helpers for the task-kind tests: enroll, find a step, issue its link as the dispatcher
would, open the page and post the form over HTTP, and read back what the record holds."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
from dispatch.world import World, answers
from sqlmodel import col, select

from iba_workflow.engine import record_visitation
from iba_workflow.links.store import issue_step_link
from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def without_health(world: World) -> dict[str, bool]:
    """The eligibility checklist without health criteria (no consent on file)."""
    return {c.id: True for c in world.definition.eligibility if not c.health}


def enroll(
    world: World, ref: str | None = None, *, checklist: dict[str, bool] | None = None, **where: Any
) -> int:
    """Enroll ``ref`` (default: the world's citizen): ``start=`` or ``cohort=``."""
    with world.session() as s:
        result = record_visitation(
            s,
            world.ctx,
            citizen_ref=ref or world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition) if checklist is None else checklist,
            **where,
        )
    assert result.enrollment_id is not None
    return result.enrollment_id


def steps(world: World, step_id: str, enrollment_id: int | None = None) -> list[t.StepInstanceRow]:
    with world.session() as s:
        query = select(t.StepInstanceRow).where(t.StepInstanceRow.step_id == step_id)
        if enrollment_id is not None:
            query = query.where(t.StepInstanceRow.enrollment_id == enrollment_id)
        return list(s.exec(query.order_by(col(t.StepInstanceRow.due_date))))


def first(world: World, step_id: str, enrollment_id: int | None = None) -> t.StepInstanceRow:
    found = steps(world, step_id, enrollment_id)
    assert found, f"no step {step_id}"
    return found[0]


def link(world: World, step: t.StepInstanceRow, role: str) -> str:
    """A link for ``role``'s staff member to ``step``, as ``dispatch.compose`` issues one."""
    with world.session() as s:
        stored = issue_step_link(
            s, step_instance_id=step.id or 0, staff_id=world.staff[role], now=world.clock.now()
        )
        s.commit()
    return stored.token


class _Controls(HTMLParser):
    """Every form control with whether a label names it, and whether radios sit in a
    fieldset that has a legend."""

    def __init__(self) -> None:
        super().__init__()
        self.label_depth = 0
        self.fieldset_legend: list[bool] = []
        self.labelled_ids: set[str] = set()
        self.controls: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.labelled_ids.add(a["for"] or "")
        elif tag == "fieldset":
            self.fieldset_legend.append(False)
        elif tag == "legend" and self.fieldset_legend:
            self.fieldset_legend[-1] = True
        elif tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.controls.append(
                {
                    "name": a.get("name"),
                    "id": a.get("id"),
                    "type": a.get("type", tag),
                    "wrapped": self.label_depth > 0,
                    "in_legend_fieldset": bool(self.fieldset_legend and self.fieldset_legend[-1]),
                }
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1
        elif tag == "fieldset" and self.fieldset_legend:
            self.fieldset_legend.pop()


def assert_accessible(html: str) -> None:
    """Every control has a label; every radio group is a fieldset with a legend."""
    parser = _Controls()
    parser.feed(html)
    for c in parser.controls:
        assert c["wrapped"] or c["id"] in parser.labelled_ids, f"unlabelled control {c}"
        if c["type"] == "radio":
            assert c["in_legend_fieldset"], f"radio outside a fieldset with legend {c}"
    assert '<html lang="da">' in html and ":focus-visible" in html


async def open_form(client: httpx.AsyncClient, token: str) -> tuple[str, str]:
    """GET the task page (checked for labels and fieldsets): its HTML and CSRF token."""
    page = await client.get(f"/t/{token}")
    assert page.status_code == 200, page.text
    assert_accessible(page.text)
    found = CSRF.search(page.text)
    assert found, "the page has no form"
    return page.text, found.group(1)


EARLY = "Du er ved at registrere den før tid"


async def submit(
    client: httpx.AsyncClient, token: str, data: dict[str, Any], *, confirm_early: bool = True
) -> httpx.Response:
    """POST the form. A step planned for a later day first gets the warning page
    (``test_task_early.py``); with ``confirm_early`` the person answers "Ja" as she would."""
    r = await client.post(f"/t/{token}", data=data, follow_redirects=True)
    if confirm_early and r.status_code == 200 and EARLY in r.text:
        r = await client.post(f"/t/{token}", data={**data, "tidligt": "ja"}, follow_redirects=True)
    return r


def completion(world: World, step_id: int) -> t.CompletionRow | None:
    with world.session() as s:
        return s.exec(
            select(t.CompletionRow).where(t.CompletionRow.step_instance_id == step_id)
        ).first()


def measurements(world: World, step_id: int) -> dict[str, tuple[float, bool]]:
    with world.session() as s:
        rows = s.exec(
            select(t.MeasurementRow).where(t.MeasurementRow.step_instance_id == step_id)
        ).all()
    return {r.dimension: (r.value, r.health) for r in rows}


def status(world: World, step_id: int) -> str:
    with world.session() as s:
        row = s.get(t.StepInstanceRow, step_id)
        assert row is not None
        return row.status


def fieldset(html: str, legend: str) -> str:
    """The HTML of the fieldset with this legend (radio groups must sit in one)."""
    found = re.search(
        r"<fieldset><legend>" + re.escape(legend) + r"</legend>(.*?)</fieldset>", html, re.S
    )
    assert found, f"no fieldset '{legend}'"
    return found.group(1)


def labels_of(html: str, kind: str) -> list[str]:
    """The visible label text of every ``<input type=kind>`` wrapped in a label."""
    pattern = r'<label class="choice"><input type="' + kind + r'"[^>]*> <span>(.*?)</span>'
    return [re.sub(r"<[^>]+>.*", "", m) for m in re.findall(pattern, html, re.S)]
