"""No cancellation storm: an enrollment that ends early with 11 open steps is one message
per person; a calendar CANCEL goes only to whoever holds that meeting's REQUEST; a
meeting cancelled before anyone was told is never mailed at all."""

from __future__ import annotations

import datetime as dt
import re

from sqlmodel import select
from test_notify_digest import defaults, tick_at, to, visit
from world import Mail, SmtpServer, World, local

from iba_workflow.dispatch.preferences import set_preference
from iba_workflow.engine import complete_step, replan
from iba_workflow.store import tables as t

ROLES = ("iba", "leder", "beskaeftigelsesraadgiver", "rollemodel")
UID = re.compile(r"UID:(step-\d+@[\w.-]+)")


def uids(mails: list[Mail], method: str) -> set[str]:
    found: set[str] = set()
    for ics in (f for m in mails for f in m.ics_files()):
        text = ics.replace("\r\n ", "")
        if f"METHOD:{method}" in text:
            found.update(UID.findall(text))
    return found


def exit_leaving(world: World, enrollment_id: int, n: int) -> tuple[dt.date, int]:
    """The latest exit date that cancels at least ``n`` open steps that are not sessions
    (two fall on each Friday), and how many it cancels."""
    with world.session() as s:
        steps = s.exec(
            select(t.StepInstanceRow).where(
                t.StepInstanceRow.enrollment_id == enrollment_id,
                t.StepInstanceRow.kind != "session",
                t.StepInstanceRow.status.in_(("planned", "due", "notified")),  # type: ignore[attr-defined]
            )
        ).all()
    days = sorted({s.due_date for s in steps}, reverse=True)
    for day in days:
        if (count := sum(1 for s in steps if s.due_date >= day)) >= n:
            return day, count
    raise AssertionError(f"fewer than {n} open steps")


async def test_early_end_is_one_mail_per_person_and_cancels_only_what_was_sent(
    world: World, smtp: SmtpServer
) -> None:
    defaults(world)
    with world.session() as s:  # the employment adviser wants meeting invitations by mail
        set_preference(
            s,
            staff_id=world.staff["beskaeftigelsesraadgiver"],
            kind="meeting_invitation",
            mode="immediate",
            now=world.clock.now(),
        )
        s.commit()
    enrollment_id = visit(world)
    for day in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12):
        await tick_at(world, dt.date(2027, 3, day))
    requested = {role: uids(to(smtp, world, role), "REQUEST") for role in ROLES}
    assert requested["beskaeftigelsesraadgiver"], "the adviser got the final evaluation's .ics"
    assert not requested["iba"] and not requested["rollemodel"], "digest people get no .ics"
    exit_on, open_steps = exit_leaving(world, enrollment_id, 11)
    if open_steps == 12:  # two steps fall on each Friday: the last absence list is waived
        with world.session() as s:
            last = s.exec(
                select(t.StepInstanceRow)
                .where(t.StepInstanceRow.enrollment_id == enrollment_id)
                .where(t.StepInstanceRow.step_id == "fravaersskema")
                .order_by(t.StepInstanceRow.due_date.desc())  # type: ignore[attr-defined]
            ).first()
            assert last is not None and last.due_date >= exit_on
            complete_step(s, world.ctx, step_instance_id=last.id or 0, skip=True)
        open_steps = 11
    seen = len(smtp.mails)

    world.clock.set(local(dt.date(2027, 3, 12), 10))
    with world.session() as s:
        replan(s, world.ctx, enrollment_id=enrollment_id, exit_on=exit_on)
    await tick_at(world, dt.date(2027, 3, 12), 10, 1)
    await tick_at(world, dt.date(2027, 3, 12), 14)
    await tick_at(world, dt.date(2027, 3, 15))  # the next morning's digests
    after = smtp.mails[seen:]
    message = f"Forløb F-00001 er afsluttet før tid; {open_steps} planlagte aftaler er aflyst"
    for role in ROLES:
        mine = [m for m in after if world.staff_email(role) in m.rcpt_tos]
        assert len(mine) <= 1, (role, [m.subject for m in mine])
        assert not [m for m in mine if m.subject.startswith("Aflyst")], "a mail per step"
        cancelled = uids(mine, "CANCEL")
        assert cancelled == requested[role], role  # exactly what their calendar holds
        # the coordinator, and the adviser whose final evaluation is among the cancelled;
        # the manager's and role model's meetings all lie before the exit: not a word
        told = role in ("iba", "beskaeftigelsesraadgiver")
        assert (message in "".join(m.text for m in mine)) == told, role
    adviser = [m for m in after if world.staff_email("beskaeftigelsesraadgiver") in m.rcpt_tos]
    assert adviser[0].message["Date"] and "10:01" in str(adviser[0].message["Date"]), (
        "a calendar to correct: sent at once, in working hours"
    )
    with world.session() as s:
        rows = s.exec(select(t.OutboxRow)).all()
        assert not [r for r in rows if r.status in ("new", "held", "pending")], "all settled"


async def test_a_meeting_cancelled_before_it_was_announced_is_never_mailed(
    world: World, smtp: SmtpServer
) -> None:
    defaults(world)
    world.clock.set(local(dt.date(2027, 3, 1), 17))  # after hours: held for the morning
    enrollment_id = visit(world)
    await tick_at(world, dt.date(2027, 3, 1), 17, 1)
    assert smtp.mails == []
    with world.session() as s:
        replan(s, world.ctx, enrollment_id=enrollment_id, exit_on=dt.date(2027, 3, 8))
    await tick_at(world, dt.date(2027, 3, 2))
    assert to(smtp, world, "leder") == [] and to(smtp, world, "rollemodel") == []
    [iba] = to(smtp, world, "iba")  # the coordinator hears of the end, once
    assert "Forløb F-00001 er afsluttet før tid" in iba.text
    assert "Praktiksamtale" not in iba.text and iba.ics_files() == []
