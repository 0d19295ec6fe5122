"""Issue 5, 'Done when' #1: visitation over HTTP → mail at aiosmtpd → GET shows the form
and changes nothing → POST completes the step → the next step's mail arrives."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from dispatch.world import SmtpServer, World, answers, snapshot
from sqlmodel import select

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import complete_step
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def mail_about(smtp: SmtpServer, words: str, to: str) -> list:  # type: ignore[type-arg]
    return [m for m in smtp.mails if words in m.subject and to in m.rcpt_tos]


async def test_visitation_mail_link_get_post_next_mail(world: World, smtp: SmtpServer, web) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=web.url, timeout=10, headers=web.api_headers) as client:
        r = await client.post(
            "/api/visitations",
            json={
                "definition_id": "hop",
                "citizen_ref": world.citizen_ref,
                "accept": True,
                "start": START.isoformat(),
                "answers": answers(world.definition),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["decision"] == "accepted"
        # The IBA assesses her ready for an internship (HOP: the company then interviews).
        with world.session() as s:
            ready = world.step("klar_til_praktik")
            complete_step(s, world.ctx, step_instance_id=ready.id or 0, outcome="klar")
            s.commit()

        await run_tick(world.open_session, world.ctx, world.settings, owner="e2e")
        iba = world.staff_email("iba")
        [invite] = mail_about(smtp, "Praktiksamtale", iba)
        assert invite.token and invite.ics()

        before = snapshot(world)
        page = await client.get(f"/t/{invite.token}")
        assert page.status_code == 200
        assert 'value="udvalgt"' in page.text and "Praktiksamtale" in page.text
        assert (await client.head(f"/t/{invite.token}")).status_code == 200
        assert snapshot(world) == before, "GET changed the record"

        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        form = {"csrf": csrf, "outcome": "udvalgt", "attended": ["iba"], "note": "fint"}
        # planned for a later day: first the warning with what it changes, nothing kept
        warned = await client.post(f"/t/{invite.token}", data=form)
        assert warned.status_code == 200 and "registrere den før tid" in warned.text
        assert snapshot(world) == before, "the warning changed the record"
        done = await client.post(
            f"/t/{invite.token}", data={**form, "tidligt": "ja"}, follow_redirects=True
        )
        assert done.status_code == 200, done.text
        assert "Opgaven er udført" in done.text and "Integrations- Medarbejder" in done.text
        assert "Det blev gemt" in done.text and "Resultat: " in done.text  # the receipt
        assert "Deltog: " in done.text and "Det sker nu" in done.text

        with world.session() as s:
            step = world.step("praktiksamtale")
            completion = s.exec(
                select(t.CompletionRow).where(t.CompletionRow.step_instance_id == step.id)
            ).one()
            assert (completion.channel, completion.by_staff_id) == ("link", world.staff["iba"])
            assert completion.outcome == "udvalgt"
            pending = s.exec(
                select(t.OutboxRow).where(
                    t.OutboxRow.status == "new",  # written with the completion, not yet routed
                    t.OutboxRow.kind == "meeting_invitation",
                )
            ).all()
            assert any(p.payload["step_id"] == "praktikstart" for p in pending)

        await run_tick(world.open_session, world.ctx, world.settings, owner="e2e")
        [nxt] = mail_about(smtp, "Opstart af virksomhedspraktik", iba)
        assert nxt.token and "METHOD:REQUEST" in (nxt.ics() or "")
