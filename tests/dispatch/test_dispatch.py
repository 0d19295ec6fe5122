"""The dispatcher against a real store and a real aiosmtpd: templates per kind, links,
.ics REQUEST/CANCEL with growing SEQUENCE, SMTP down then up, per-intervention report."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select
from world import SmtpServer, World, answers

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)


def visit(world: World, start: dt.date = START) -> int:
    with world.session() as s:
        result = record_visitation(
            s,
            world.ctx,
            citizen_ref=world.citizen_ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=start,
        )
    assert result.enrollment_id is not None
    return result.enrollment_id


async def tick(world: World):  # type: ignore[no-untyped-def]
    return await run_tick(world.open_session, world.ctx, world.settings, owner="test")


def outbox(world: World) -> list[t.OutboxRow]:
    with world.session() as s:
        return list(s.exec(select(t.OutboxRow).order_by(t.OutboxRow.id)))


async def test_invitations_are_sent_once_with_links_and_ics(world: World, smtp: SmtpServer) -> None:
    visit(world)
    report = await tick(world)
    rows = outbox(world)
    assert rows and all(r.status == "sent" for r in rows)
    assert report.totals.sent == len(rows) == len(smtp.mails)
    meetings = [m for m in smtp.mails if m.ics()]
    assert meetings, "meeting invitations carry an .ics"
    for mail in meetings:
        assert "METHOD:REQUEST" in mail.ics() and "SEQUENCE:0" in mail.ics()
        assert mail.token is not None
    ids = {m.message["Message-ID"] for m in smtp.mails}
    assert len(ids) == len(smtp.mails)
    again = await tick(world)
    assert again.totals.sent == 0 and len(smtp.mails) == len(rows)
    assert report.rows()[-1]["intervention"] == "I alt"
    assert report.rows()[0]["intervention"] == "hop"
