"""Issue 15: links clicked at the same instant, over real HTTP (uvicorn on a socket, the
app's thread pool, the store's write gate). Eight coordinators post the forms of eight
enrollments at once, and four tabs post one more link at once: every step is completed
exactly once, every link is used once, and nobody gets an error page."""

from __future__ import annotations

import datetime as dt
import re
import threading

import httpx
from dispatch.world import World, answers
from sqlmodel import col, func, select

from iba_workflow.engine import record_visitation, register_citizen
from iba_workflow.links.store import issue_step_link
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)
STEP = "klar_til_praktik"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PEOPLE = 8  # links of different enrollments, posted at once
TABS = 4  # posts of the same link at once


def links(world: World, n: int) -> list[tuple[int, str]]:
    """(step instance id, token) of STEP for the IBA, in ``n`` new enrollments."""
    out = []
    for k in range(n):
        with world.session() as s:
            ref = f"C-{k:04d}"
            register_citizen(s, world.ctx, ref=ref, municipality=world.definition.municipality)
            d = world.definition
            record_visitation(
                s, world.ctx, citizen_ref=ref, definition=d, accept=True,
                answers=answers(d), start=START,
            )  # fmt: skip
        with world.session() as s:
            step = s.exec(
                select(t.StepInstanceRow)
                .join(t.EnrollmentRow)
                .join(t.CitizenRow)
                .where(t.StepInstanceRow.step_id == STEP, t.CitizenRow.ref == ref)
            ).one()
            link = issue_step_link(
                s, step_instance_id=step.id or 0, staff_id=world.staff["iba"], now=world.ctx.now()
            )
            out.append((step.id or 0, link.token))
    return out


def test_concurrent_posts_complete_each_step_once(world: World, web) -> None:  # type: ignore[no-untyped-def]
    click_at_once(world, web.url)


def click_at_once(world: World, url: str) -> None:
    """PEOPLE links posted at once and one more in TABS tabs at once, to the app at
    ``url``: each step completed once, each link used once, no error page."""
    clicks = links(world, PEOPLE + 1)
    with httpx.Client(base_url=url, timeout=30) as client:
        forms = {}
        for _, token in clicks:
            page = client.get(f"/t/{token}")
            assert page.status_code == 200
            forms[token] = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    twice = clicks[-1][1]
    posts = [token for _, token in clicks[:PEOPLE]] + [twice] * TABS
    start = threading.Barrier(len(posts))
    answered: list[tuple[str, int, str]] = []

    def post(token: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            assert c.get("/healthz").status_code == 200  # connected before the barrier
            start.wait(timeout=30)
            data = {"csrf": forms[token], "outcome": "klar", "attended": ["iba"], "tidligt": "ja"}
            r = c.post(f"/t/{token}", data=data)
            answered.append((token, r.status_code, r.text))

    threads = [threading.Thread(target=post, args=(token,)) for token in posts]
    for th in threads:
        th.start()
    for th in threads:
        th.join(90)
    assert len(answered) == len(posts)

    for _, status, text in answered:
        assert status in (303, 409), (status, text[:300])
        assert "Noget gik galt" not in text and "Traceback" not in text
    by_token: dict[str, list[int]] = {}
    for token, status, _ in answered:
        by_token.setdefault(token, []).append(status)
    assert all(by_token[token] == [303] for _, token in clicks[:PEOPLE])
    assert sorted(by_token[twice]) == [303] + [409] * (TABS - 1)
    replays = [text for token, status, text in answered if status == 409]
    assert all("Opgaven er udført" in text for text in replays)

    steps = [step_id for step_id, _ in clicks]
    with world.session() as s:
        done = s.exec(
            select(t.CompletionRow.step_instance_id, func.count())
            .where(col(t.CompletionRow.step_instance_id).in_(steps))
            .group_by(col(t.CompletionRow.step_instance_id))
        ).all()
        assert sorted(done) == sorted((step_id, 1) for step_id in steps)
        used = s.exec(
            select(t.LinkTokenRow).where(col(t.LinkTokenRow.step_instance_id).in_(steps))
        ).all()
        assert len(used) == len(steps) and all(link.used_at is not None for link in used)
        statuses = s.exec(
            select(t.StepInstanceRow.status).where(col(t.StepInstanceRow.id).in_(steps))
        ).all()
        assert set(statuses) == {"completed"}
