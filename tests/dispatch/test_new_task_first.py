"""The first mail about a task is "Ny opgave", never a reminder: a task becomes actionable
``IBA_NEW_TASK_LEAD_DAYS`` before its date, and at the latest on the weekday before its
first reminder; the reminder still follows on its own day."""

from __future__ import annotations

import datetime as dt

import pytest
from world import SmtpServer, local, make_world

from iba_workflow.dispatch import run_tick
from iba_workflow.engine import record_visitation

# sunde_kvinder: 'digital_gruppe' is the contact person's task on Thursday 2 September
# 2027; its reminder is 2 working days before (Tuesday 31 August).
TASK = "Hjælp holdet med at oprette en digital gruppe til gensidig støtte"


@pytest.mark.parametrize(
    ("lead", "first_day"), [(0, dt.date(2027, 8, 30)), (7, dt.date(2027, 8, 26))]
)
async def test_the_new_task_mail_comes_before_the_reminder(
    store_url: str, tmp_path, smtp: SmtpServer, lead: int, first_day: dt.date
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(
        store_url, tmp_path, smtp_port=smtp.port, name="sunde_kvinder", day=dt.date(2027, 8, 16)
    )
    world.settings = world.settings.model_copy(update={"new_task_lead_days": lead})
    try:
        d = world.definition
        with world.session() as s:
            record_visitation(
                s, world.ctx, citizen_ref=world.citizen_ref, definition=d, accept=True,
                answers={c.id: True for c in d.eligibility if not c.health},
                cohort="hold_2027_efteraar",
            )  # fmt: skip
        assert world.step("digital_gruppe").due_date == dt.date(2027, 9, 2)
        arrived: list[tuple[dt.date, str]] = []
        day = dt.date(2027, 8, 23)
        while day <= dt.date(2027, 9, 2):
            world.clock.set(local(day, 7))
            seen = len(smtp.mails)
            await run_tick(world.open_session, world.ctx, world.settings, owner="r")
            arrived += [(day, m.subject) for m in smtp.mails[seen:] if TASK in m.subject]
            day += dt.timedelta(days=1)
        kinds = [(when, subject.split(":")[0]) for when, subject in arrived]
        assert kinds == [(first_day, "Ny opgave"), (dt.date(2027, 8, 31), "Påmindelse")]
        assert arrived[0][1].endswith(
            "· Sunde kvinder · Holdet · frist tor. 2. sep."
        )  # a group task
    finally:
        world.engine.dispose()
