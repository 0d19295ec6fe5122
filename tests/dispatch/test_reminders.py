"""Reminders and escalations as the definition says: a reminder (``paamindelse``) to the
assignee before the deadline, an escalation (``eskalering``) to the role the definition
names after it; each once, however many ticks run."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select
from world import SmtpServer, local, make_world

from iba_workflow.clock import COPENHAGEN
from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation
from iba_workflow.store import tables as t

# sunde_kvinder: 'digital_gruppe' is the contact person's task, start + 3 working days;
# defaults: a reminder 2 working days before, escalation to 'iba' 3 working days after.
COHORT_START = dt.date(2027, 8, 30)
TASK = "Hjælp holdet med at oprette en digital gruppe til gensidig støtte"


async def test_reminder_to_assignee_and_escalation_to_named_role_once_each(
    store_url: str, tmp_path, smtp: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(
        store_url, tmp_path, smtp_port=smtp.port, name="sunde_kvinder", day=dt.date(2027, 8, 16)
    )
    try:
        d = world.definition
        with world.session() as s:
            record_visitation(
                s,
                world.ctx,
                citizen_ref=world.citizen_ref,
                definition=d,
                accept=True,
                answers={c.id: True for c in d.eligibility if not c.health},
                cohort="hold_2027_efteraar",
            )
        step = world.step("digital_gruppe")
        assert step.due_date == dt.date(2027, 9, 2)
        day = dt.date(2027, 8, 16)
        while day <= dt.date(2027, 9, 17):  # every day, three ticks a day
            for hour in (7, 12, 16):
                world.clock.set(local(day, hour))
                await run_tick(world.open_session, world.ctx, world.settings, owner="r")
            day += dt.timedelta(days=1)

        about = [m for m in smtp.mails if TASK in m.subject]
        reminders = [m for m in about if m.subject.startswith("Påmindelse:")]
        escalations = [m for m in about if m.subject.startswith("Overskredet:")]
        assert len(reminders) == 1 and len(escalations) == 1

        [reminder] = reminders
        assert reminder.rcpt_tos == [world.staff_email("kontaktperson")]
        assert (
            reminder.subject == f"Påmindelse: {TASK} · Sunde kvinder · Holdet · frist tor. 2. sep."
        )
        # a group task (issue 12): the mail names the group, not one member
        assert "Opgaven for hele holdet er endnu ikke løst." in reminder.text
        assert "Fristen er om 2 dage (torsdag den 2. september 2027)." in reminder.text
        assert "Din rolle: Kontaktperson fra Jobcenteret" in reminder.text
        assert reminder.token, "a reminder links to the task"

        [escalation] = escalations
        assert escalation.rcpt_tos == [world.staff_email("iba")], "to the role the definition names"
        assert (
            escalation.subject
            == f"Overskredet: {TASK} · Sunde kvinder · Holdet · frist tor. 2. sep."
        )
        text = " ".join(escalation.text.split())
        assert "er ikke løst til fristen torsdag den 2. september 2027 (5 dage siden)." in text
        assert "Ansvarlig rolle: Kontaktperson fra Jobcenteret." in escalation.text
        assert "Du får besked som Integrations- og beskæftigelsesambassadør (IBA)" in text
        assert escalation.token, "the coordinator can open the task too"

        with world.session() as s:
            rows = s.exec(
                select(t.OutboxRow).where(
                    t.OutboxRow.step_instance_id == step.id,
                    t.OutboxRow.kind.in_(("reminder", "escalation")),  # type: ignore[attr-defined]
                )
            ).all()
        sent_on = {
            r.kind: (r.status, r.recipient_staff_id, r.created_at.astimezone(COPENHAGEN).date())
            for r in rows
        }
        assert len(rows) == 2
        assert sent_on == {
            "reminder": ("sent", world.staff["kontaktperson"], dt.date(2027, 8, 31)),
            "escalation": ("sent", world.staff["iba"], dt.date(2027, 9, 7)),
        }
    finally:
        world.engine.dispose()
