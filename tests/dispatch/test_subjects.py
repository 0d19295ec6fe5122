"""Three participants invited to the same kind of meeting get three subjects a person can
tell apart: each names its enrollment's F-number (opaque, never the citizen); a group's
meeting names the group."""

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
    subjects = [m.subject for m in smtp.mails if iba in m.rcpt_tos]
    finals = [s for s in subjects if s.startswith("Evaluering: Afsluttende evaluering · ")]
    assert len(finals) == 3, "her own meeting, once for each participant"
    assert sorted(s.split(" · ")[2] for s in finals) == ["F-00001", "F-00002", "F-00003"]
    # a group's occurrence (issue 12) is one meeting for the whole group: one invitation,
    # naming the group, never one of its members
    visits = [s for s in subjects if s.startswith("Mødeindkaldelse: Virksomhedsbesøg · ")]
    assert len(visits) == 1 and visits[0].split(" · ")[2] == "Holdet"
    assert "F-0" not in visits[0]
    assert len(set(subjects)) == len(subjects), "no two subjects alike"
