"""The mail link's task page warns before a step planned for a later day is completed:
it shows what completing it now changes in the plan, writes nothing, and asks again
(the same rule as completing from Min uge)."""

from __future__ import annotations

import datetime as dt

import httpx
from dispatch.world import World, snapshot
from kinds import EARLY, completion, enroll, first, link, open_form, steps, submit
from sqlmodel import select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.engine import complete_step
from iba_workflow.links.tokens import hash_token
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)  # a week after the world's today, Monday 1 March 2027


async def test_completing_a_later_step_from_its_link_warns_with_the_impact(
    world: World, web
) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    with world.session() as s:
        ready = first(world, "klar_til_praktik")
        complete_step(s, world.ctx, step_instance_id=ready.id or 0, outcome="klar")
        s.commit()
    talk = first(world, "praktiksamtale")
    assert talk.due_date > world.clock.now().date()
    token = link(world, talk, "leder")
    chosen = {"outcome": "udvalgt", "attended": "leder", "note": "Godt match"}
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        _html, csrf = await open_form(client, token)
        before = snapshot(world)
        warned = await submit(client, token, {"csrf": csrf, **chosen}, confirm_early=False)
        assert warned.status_code == 200 and EARLY in warned.text
        assert f"{talk.name} er planlagt til mandag den 15. marts 2027 kl. 14:30" in warned.text
        assert "Intet er gemt endnu" in warned.text
        assert "Det ændrer planen sådan" in warned.text
        assert "<strong>Tilføjes:</strong> Opstart af virksomhedspraktik, den mandag" in warned.text
        assert (
            "<strong>Aflyses:</strong> Undervisning ved jobcenteret" in warned.text
        )  # the teaching
        # the same answers go with the confirmation
        assert 'name="tidligt" value="ja"' in warned.text
        assert 'name="outcome" value="udvalgt"' in warned.text
        assert 'name="note" value="Godt match"' in warned.text
        assert snapshot(world) == before, "the warning wrote nothing"
        assert completion(world, talk.id or 0) is None and steps(world, "praktikstart") == []
        with world.session() as s:
            spent = s.exec(
                select(t.LinkTokenRow).where(t.LinkTokenRow.token_hash == hash_token(token))
            ).one()
            assert spent.used_at is None, "the link is still usable"
        confirmed = dict(
            zip(
                ("csrf", "tidligt", "outcome", "attended", "note"),
                (csrf, "ja", "udvalgt", "leder", "Godt match"),
                strict=True,
            )
        )
        done = await client.post(f"/t/{token}", data=confirmed, follow_redirects=True)
    assert done.status_code == 200 and "Opgaven er udført" in done.text
    assert "Det blev gemt" in done.text and "Udvalgt til praktik" in done.text
    assert "Det sker nu" in done.text
    row = completion(world, talk.id or 0)
    assert row is not None and row.outcome == "udvalgt"
    assert row.data == {"attended": ["leder"], "note": "Godt match"}
    assert [x.status for x in steps(world, "praktikstart")] == ["planned"]


async def test_a_step_due_today_is_completed_without_a_warning(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    step = first(world, "virksomhedsoplaeg")
    world.clock.set(dt.datetime.combine(step.due_date, dt.time(9), COPENHAGEN))
    token = link(world, step, "iba")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        _html, csrf = await open_form(client, token)
        r = await submit(client, token, {"csrf": csrf, "attended": "iba"}, confirm_early=False)
    assert r.status_code == 200 and EARLY not in r.text and "Opgaven er udført" in r.text
    assert completion(world, step.id or 0) is not None
