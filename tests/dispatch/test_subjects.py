"""Three participants invited to the same kind of meeting get three subjects a person can
tell apart: each names its enrollment's F-number (opaque, never the citizen)."""

from __future__ import annotations

import datetime as dt

from world import SmtpServer, World, answers

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation, register_citizen

START = dt.date(2027, 3, 8)


async def test_invitation_subjects_carry_the_f_number(world: World, smtp: SmtpServer) -> None:
    with world.session() as s:
        for ref in (world.citizen_ref, "B-0002", "B-0003"):
            if ref != world.citizen_ref:
                register_citizen(s, world.ctx, ref=ref, municipality="hedensted", name="X Y")
            d = world.definition
            record_visitation(s, world.ctx, citizen_ref=ref, definition=d, accept=True,
                              answers=answers(d), start=START)  # fmt: skip
    await run_tick(world.open_session, world.ctx, world.settings, owner="test")
    iba = world.staff_email("iba")
    invitations = [
        m.subject
        for m in smtp.mails
        if iba in m.rcpt_tos and m.subject.startswith("Mødeindkaldelse:")
    ]
    visits = [s for s in invitations if s.startswith("Mødeindkaldelse: Virksomhedsbesøg · ")]
    assert len(visits) == 3, "the same meeting, once for each participant"
    assert sorted(s.split(" · ")[2] for s in visits) == ["F-00001", "F-00002", "F-00003"]
    assert len(set(invitations)) == len(invitations), "no two subjects alike"
