"""What a signed-in person sees, through the policy: a task link addressed to someone
else is refused (an anonymous holder still gets it); Min uge lists one's own open
tasks; only the coordinator of the intervention in her municipality sees the citizen's
name there, and every such read is in the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from dispatch.world import CANARIES, NAME, SmtpServer, World, answers
from identity_helpers import csrf_of, sign_in
from sqlmodel import select

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import add_staff, record_visitation
from iba_workflow.identity.staff import add_coordinates
from iba_workflow.store import tables as t


def _enrol(world: World, smtp: SmtpServer) -> None:
    with world.session() as s:
        record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=dt.date(2027, 3, 8),
        )
    import asyncio

    asyncio.run(run_tick(world.open_session, world.ctx, world.settings, owner="pages"))


def _client(web: Any) -> httpx.Client:
    return httpx.Client(base_url=web.url, timeout=10, follow_redirects=True)


def _link_for(smtp: SmtpServer, address: str) -> str:
    found = [m.token for m in smtp.mails if address in m.rcpt_tos and m.token]
    assert found, f"no task mail to {address}"
    return str(found[0])


def test_a_signed_in_person_cannot_use_someone_elses_task_link(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    _enrol(world, smtp)
    iba, manager = world.staff_email("iba"), world.staff_email("leder")
    theirs, mine = _link_for(smtp, manager), _link_for(smtp, iba)
    with _client(web) as anonymous:
        page = anonymous.get(f"/t/{theirs}")
        assert page.status_code == 200  # the link is the capability
        csrf = csrf_of(page.text)
    with _client(web) as client:
        sign_in(client, smtp, iba)
        r = client.get(f"/t/{theirs}")
        assert r.status_code == 403 and "sendt til en anden medarbejder" in r.text
        r = client.post(f"/t/{theirs}", data={"csrf": csrf})
        assert r.status_code == 403
        assert client.post(f"/t/{theirs}/nyt-link", data={"csrf": csrf}).status_code == 403
        assert client.get(f"/t/{mine}").status_code == 200  # her own link works
    with world.session() as s:
        assert not s.exec(select(t.CompletionRow)).all()


def test_min_uge_shows_own_tasks_and_names_only_to_the_coordinator(
    world: World, smtp: SmtpServer, web: Any
) -> None:
    """Min side is folded into Min uge (issue 11): own tasks there, no names; the
    citizen's name is on the enrollment's page, for its coordinator only, audited."""
    _enrol(world, smtp)
    iba, manager = world.staff_email("iba"), world.staff_email("leder")
    with world.session() as s:
        abroad = add_staff(s, world.ctx, name="Rebild Koordinator", email="iba@rebild.test",
                           roles=["iba"], municipality="rebild")  # fmt: skip
        add_coordinates(s, abroad.id or 0, ["hop"], now=world.clock.now(), actor="tests")
        s.commit()
    with _client(web) as client:
        page = sign_in(client, smtp, manager)
        assert "Næste uge" in page.text and "F-00001" in page.text
        assert "koordinerer" not in page.text
        assert not [c for c in CANARIES if c in page.text]
        assert client.get("/forloeb/1").status_code in (200, 403)
        assert NAME not in client.get("/forloeb/1").text
    with _client(web) as client:
        sign_in(client, smtp, iba)  # the IBA, not yet coordinating HOP
        assert NAME not in client.get("/forloeb/1").text
    with world.session() as s:
        add_coordinates(s, world.staff["iba"], ["hop"], now=world.clock.now(), actor="tests")
        s.commit()
    with _client(web) as client:
        page = sign_in(client, smtp, iba)
        assert NAME not in page.text  # no names on Min uge
        assert NAME in client.get("/forloeb/1").text
    with _client(web) as client:
        sign_in(client, smtp, "iba@rebild.test")  # coordinates HOP, elsewhere
        assert client.get("/forloeb/1").status_code == 403
        assert "F-00001" not in client.get("/forloeb").text
    with world.session() as s:
        reads = s.exec(select(t.AuditRow).where(t.AuditRow.action == "read_identity")).all()
    assert [(r.actor, r.citizen_id, r.details["purpose"]) for r in reads] == [
        (f"staff:{world.staff['iba']}", 1, "page:forloeb")
    ]
