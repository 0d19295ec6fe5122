"""The weekly digest (ugeoversigt): from Monday 08:00, one per IBA per ISO week, with the
due and overdue steps of the enrollments that IBA coordinates, and no personal data."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select
from world import CANARIES, SmtpServer, World, answers, local

from iba_workflow.dispatch import enqueue_digests, run_tick
from iba_workflow.engine import (
    add_staff,
    assign_staff,
    complete_step,
    record_visitation,
    register_citizen,
)
from iba_workflow.store import tables as t

START = dt.date(2027, 3, 8)  # Monday of ISO week 10
WEEK_11 = dt.date(2027, 3, 15)


def enroll(world: World, ref: str) -> int:
    with world.session() as s:
        result = record_visitation(
            s,
            world.ctx,
            citizen_ref=ref,
            definition=world.definition,
            accept=True,
            answers=answers(world.definition),
            start=START,
        )
    assert result.enrollment_id is not None
    return result.enrollment_id


def digests(smtp: SmtpServer) -> list:  # type: ignore[type-arg]
    return [m for m in smtp.mails if m.subject.startswith("Ugeoversigt")]


def section(text: str, title: str, end: str) -> list[str]:
    body = text.split(title, 1)[1].split(end, 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip().startswith("- ")]


async def tick(world: World):  # type: ignore[no-untyped-def]
    return await run_tick(world.open_session, world.ctx, world.settings, owner="digest")


async def test_monday_digest_once_per_iba_per_week(world: World, smtp: SmtpServer) -> None:
    with world.session() as s:
        other = add_staff(
            s,
            world.ctx,
            name="Anden IBA",
            email="iba2@jobcenter.test",
            roles=["iba"],
            municipality=world.definition.municipality,
        )
        register_citizen(s, world.ctx, ref="B-0002", municipality=world.definition.municipality)
    first = enroll(world, world.citizen_ref)  # coordinated by the first IBA (default)
    second = enroll(world, "B-0002")
    with world.session() as s:
        assign_staff(s, world.ctx, enrollment_id=second, role="iba", staff_id=other.id or 0)
        done = s.exec(
            select(t.StepInstanceRow).where(
                t.StepInstanceRow.enrollment_id == first,
                t.StepInstanceRow.step_id == "progressionsmaaling_start",
            )
        ).one()
    world.clock.set(local(dt.date(2027, 3, 10), 9))
    with world.session() as s:  # the first IBA's start measurement is done, the other's not
        complete_step(s, world.ctx, step_instance_id=done.id or 0, data={"fremmoede": 7})

    world.clock.set(local(WEEK_11, 7, 59))
    await tick(world)
    assert digests(smtp) == [], "no digest before Monday 08:00"

    world.clock.set(local(WEEK_11, 8, 0))
    report = await tick(world)
    assert report.digests == 2
    mails = {m.rcpt_tos[0]: m for m in digests(smtp)}
    assert sorted(mails) == ["iba2@jobcenter.test", "iba@jobcenter.test"]
    mine, theirs = mails["iba@jobcenter.test"], mails["iba2@jobcenter.test"]
    assert mine.subject == "Ugeoversigt uge 11: 3 denne uge, 2 overskredet"
    assert theirs.subject == "Ugeoversigt uge 11: 3 denne uge, 3 overskredet"
    overdue = section(mine.text, "OVERSKREDET (2)", "DENNE UGE")
    assert overdue == [
        "- fre. 12. mar.: Ugentligt fraværsskema fra sprogcenteret · "
        "HOP – Helhedsorienteret praktik (rengøring/køkken) · forløb F-00001 · "
        "Sprogcenter Midt (underviser/vejleder)",
        "- fre. 12. mar.: Ugentlig evaluering med kvinderne · "
        "HOP – Helhedsorienteret praktik (rengøring/køkken) · forløb F-00001 · "
        "Integrations- og beskæftigelsesambassadør (IBA)",
    ]
    due = section(mine.text, "DENNE UGE (3)", "Opgaverne åbnes")
    assert [line.split(" · ")[0] for line in due] == [
        "- man. 15. mar. kl. 14:30: Vurdering af om kvinden er klar til praktik "
        "(jobcenter og sprogskole)",
        "- fre. 19. mar.: Ugentligt fraværsskema fra sprogcenteret",
        "- fre. 19. mar. kl. 13:00: Ugentlig evaluering med kvinderne",
    ]
    assert all("forløb F-00001" in line for line in overdue + due)
    assert "F-00002" not in mine.text and "F-00001" not in theirs.text
    assert "Progressionsmåling ved start" in section(theirs.text, "OVERSKREDET", "DENNE UGE")[0]
    assert "/t/" not in mine.text, "no overview page: the digest claims no link"
    assert "Undervisning ved jobcenteret" not in mine.text, "sessions are a timetable"

    # the same week: more ticks, even after a dispatcher restart, send none
    await tick(world)
    assert enqueue_digests(world.open_session, world.ctx) == 0
    world.clock.set(local(dt.date(2027, 3, 17), 10))
    await tick(world)
    assert len(digests(smtp)) == 2
    with world.session() as s:
        rows = s.exec(select(t.OutboxRow).where(t.OutboxRow.kind == "digest")).all()
    assert sorted(r.message_id for r in rows) == [
        f"digest/2027-W11/{world.staff['iba']}",
        f"digest/2027-W11/{other.id}",
    ]
    assert all(set(r.payload) == {"week_start", "due", "overdue"} for r in rows)

    # next Monday: a new week, a new digest each
    world.clock.set(local(dt.date(2027, 3, 22), 8, 30))
    await tick(world)
    assert len(digests(smtp)) == 4

    for mail in digests(smtp):
        raw = mail.raw.decode("utf-8", "replace") + mail.text
        for canary in CANARIES:
            assert canary.lower() not in raw.lower(), (canary, mail.subject)
        assert "B-0001" not in raw and "B-0002" not in raw, "only the opaque enrollment ref"


async def test_no_digest_without_an_active_enrollment(world: World, smtp: SmtpServer) -> None:
    report = await tick(world)  # Monday 08:00, staff but nobody enrolled
    assert report.digests == 0 and digests(smtp) == []
