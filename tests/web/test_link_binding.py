"""A link is bound to one step instance: whatever a POST to step A's link carries (B's
outcome, B's id, B's absence row, a query string naming B), step B is never completed,
and a refused POST leaves the whole record unchanged."""

from __future__ import annotations

import datetime as dt

import httpx
from dispatch.world import SmtpServer, World, snapshot
from kinds import completion, enroll, first, link, open_form, status, steps, submit

from iba_workflow.engine import register_citizen

START = dt.date(2027, 3, 8)


async def test_link_for_a_never_completes_b(world: World, web) -> None:  # type: ignore[no-untyped-def]
    enroll(world, start=START)
    a = first(world, "klar_til_praktik")  # outcomes: klar / ikke_klar_endnu
    b = first(world, "slutevaluering")  # outcomes: ansaettelse / forlaengelse / ...
    token = link(world, a, "iba")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert b.name not in html and f'value="{b.id}"' not in html
        before = snapshot(world)
        crafted = [  # B's outcome, B's identity in every field name a handler might read
            {"outcome": "ansaettelse", "step_instance_id": str(b.id), "step": b.key},
            {"outcome": "ansaettelse", "step_id": b.step_id, "step_key": b.key},
            {"outcome": "forlaengelse", "step_instance_id": str(b.id), "token": token},
        ]
        for fields in crafted:
            r = await client.post(f"/t/{token}", data={"csrf": csrf, **fields})
            assert r.status_code == 422 and "vælg et resultat" in r.text
            r = await client.post(
                f"/t/{token}?step_instance_id={b.id}&step={b.key}", data={"csrf": csrf, **fields}
            )
            assert r.status_code == 422
        assert snapshot(world) == before, "a crafted POST changed the record"

        # A valid answer for A, still carrying B's id: A is completed, B is not
        r = await submit(
            client, token, {"csrf": csrf, "outcome": "klar", "step_instance_id": str(b.id)}
        )
        assert r.status_code == 200 and "Opgaven er udført" in r.text and a.name in r.text
    done = completion(world, a.id or 0)
    assert done is not None and done.outcome == "klar" and "step_instance_id" not in done.data
    assert completion(world, b.id or 0) is None and status(world, b.id or 0) == "planned"


async def test_absence_list_link_completes_only_listed_rows(
    world: World, smtp: SmtpServer, web
) -> None:  # type: ignore[no-untyped-def]
    """The absence list completes the due list of every participant, and nothing else:
    a crafted row for a step not on the list (next week's list, another kind of step)
    is ignored."""
    with world.session() as s:
        register_citizen(s, world.ctx, ref="B-0002", municipality=world.definition.municipality)
    mine, theirs = enroll(world, start=START), enroll(world, "B-0002", start=START)
    world.clock.set(dt.datetime(2027, 3, 12, 8, tzinfo=dt.UTC))
    own = first(world, "fravaersskema", mine)
    listed, next_week = steps(world, "fravaersskema", theirs)[:2]
    other_kind = first(world, "ugentlig_evaluering", theirs)
    token = link(world, own, "sprogcenter")
    async with httpx.AsyncClient(base_url=web.url, timeout=10) as client:
        html, csrf = await open_form(client, token)
        assert f"absent_{listed.id}" in html
        for b in (next_week, other_kind):
            assert f"absent_{b.id}" not in html
        posted = {"csrf": csrf, f"absent_{own.id}": "2027-03-09", f"absent_{listed.id}": "0"}
        for b in (next_week, other_kind):
            posted[f"absent_{b.id}"] = "3"
            posted[f"reason_{b.id}"] = "forfalsket"
        r = await submit(client, token, posted)
        assert r.status_code == 200 and "Opgaven er udført" in r.text
    assert status(world, own.id or 0) == status(world, listed.id or 0) == "completed"
    for b in (next_week, other_kind):
        assert completion(world, b.id or 0) is None and status(world, b.id or 0) == "planned"
