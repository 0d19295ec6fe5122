"""The caseload scenario (15 HOP + 6 Fagmentor + 4 Sunde kvinder + 5 De internationale,
started over a few weeks) run through the simulator and the real dispatcher into a real
aiosmtpd, over simulated months, with the shipped defaults. Run once for the module."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from world import CPR, NAME

from iba_workflow import paths
from iba_workflow.budget import SCENARIOS, Budget, ReceivedMail, run_scenario
from iba_workflow.calendar import calendar_for
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.engine import EngineContext, calendars_from, register_citizen
from iba_workflow.engine.apply import Recipients, is_meeting
from iba_workflow.mail.render import CPR_PATTERN
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory, upgrade
from iba_workflow.store import tables as t

IBA = "iba@hedensted.sim.invalid"
STEP_ITEMS = ("new_task", "meeting_invitation", "reminder", "escalation", "change", "cancellation")
ALLOWED_DROPS = (
    "never announced to them",
    "never announced to them; the digest shows the new date",
    "in the message that the enrollment ended",
    "cancelled before it was announced",
    "nothing about this enrollment was announced to them",
    "nothing to tell today",
)
WORK_END = dt.time(16, 0)


@pytest.fixture(scope="module")
def caseload(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("caseload")
    engine = make_engine(f"sqlite:///{tmp / 'caseload.sqlite3'}")
    upgrade(engine)
    open_session = session_factory(engine)
    scenario = SCENARIOS["caseload"]
    calendars = calendars_from(paths.calendars_dir())
    ctx = EngineContext(clock=FixedClock(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    with open_session() as s:  # every woman's identity holds the canaries
        for n, intake in enumerate(scenario.intakes, start=1):
            for number in range(1, intake.participants + 1):
                register_citizen(
                    s,
                    ctx,
                    ref=f"{intake.definition}-{n}-{number:03d}",
                    municipality="hedensted",
                    name=NAME,
                    cpr=CPR,
                )
    budget = run_scenario(
        scenario,
        open_session=open_session,
        calendars=calendars,
        definition=lambda i: load_definition(
            paths.definitions_dir() / f"{i}.yaml", known_templates=paths.known_templates()
        ),
        settings=Settings(data_dir=tmp, secret_key=SecretStr("k" * 32)),
    )
    yield budget, open_session
    engine.dispose()


def text_of(mail: ReceivedMail) -> str:
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    parts = [str(msg["Subject"])]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def test_iba_gets_one_digest_a_working_day_and_few_other_mails(caseload: Any) -> None:
    budget, _ = caseload
    assert isinstance(budget, Budget)
    calendar = calendar_for("hedensted", paths.calendars_dir())
    digests = budget.per_day(IBA, "digest")
    assert len(digests) > 40, "the IBA hears every working day something happens"
    assert all(n == 1 for n in digests.values())
    assert all(calendar.is_working_day(day) for day in digests)
    others = budget.per_week(IBA, exclude=("digest",))
    assert all(n <= 10 for n in others.values()), others
    for m in budget.mails:  # no mail outside working hours unless urgent (none here)
        local = m.sent_at.astimezone(COPENHAGEN)
        assert calendar.is_working_day(local.date()) and local.time() < WORK_END, m.sent_at


def _deadline(step: t.StepInstanceRow, payload: dict[str, Any]) -> dt.datetime:
    day = dt.date.fromisoformat(payload.get("due_date") or step.due_date.isoformat())
    if is_meeting(step):
        time = dt.time.fromisoformat(payload["time"]) if payload.get("time") else dt.time(8)
        return dt.datetime.combine(day, time, COPENHAGEN)
    return dt.datetime.combine(day, WORK_END, COPENHAGEN)


def test_nothing_is_missed(caseload: Any) -> None:
    """Every notification reached its person in a mail (of its own, or a digest naming the
    step and the enrollment) before the meeting starts or the task's day ends, unless the
    step was done first; or it was dropped for a reason that tells nothing lost."""
    budget, open_session = caseload
    received = {m.outbox_id: m for m in budget.mails}
    with open_session() as s:
        rows = s.exec(select(t.OutboxRow).where(t.OutboxRow.kind != "digest")).all()
        assert rows
        checked = 0
        for row in rows:
            assert row.status in ("sent", "folded", "dropped"), (row.id, row.kind, row.status)
            if row.status == "dropped":
                assert row.last_error in ALLOWED_DROPS or row.last_error.startswith("step is")
                continue
            mail = received.get(row.carried_by if row.status == "folded" else row.id)
            step = s.get(t.StepInstanceRow, row.step_instance_id) if row.step_instance_id else None
            done = _completed_at(s, step)
            if mail is None:  # composed but not sent: only when the step was done first
                assert step is not None and done is not None, (row.id, row.kind)
                continue
            if row.kind not in STEP_ITEMS or step is None:
                continue
            if done is not None and done <= mail.sent_at:
                continue
            assert mail.sent_at <= _deadline(step, row.payload), (row.kind, step.key)
            body = text_of(mail)
            assert f"F-{step.enrollment_id:05d}" in body and step.name in body, (row.kind, step.key)
            checked += 1
        assert checked > 200
        _every_task_reached_its_assignee(s, budget)


def _completed_at(session: Session, step: t.StepInstanceRow | None) -> dt.datetime | None:
    if step is None:
        return None
    done = session.exec(
        select(t.CompletionRow).where(t.CompletionRow.step_instance_id == step.id)
    ).first()
    return done.completed_at if done else None


def _every_task_reached_its_assignee(session: Session, budget: Budget) -> None:
    """Seen from the people: each completed task or meeting was in a mail to its assignee
    on or before its day (a digest's 'I dag'/'I morgen', or a mail of its own)."""
    staff = {s.id: s.email for s in session.exec(select(t.StaffRow))}
    by_person: dict[str, list[tuple[dt.datetime, str]]] = {}
    for m in budget.mails:
        by_person.setdefault(m.recipient, []).append((m.sent_at, text_of(m)))
    missing = []
    steps = session.exec(
        select(t.StepInstanceRow).where(
            t.StepInstanceRow.status == "completed", t.StepInstanceRow.kind != "session"
        )
    ).all()
    for step in steps:
        enrollment = session.get(t.EnrollmentRow, step.enrollment_id)
        assert enrollment is not None
        who = step.assigned_staff_id or Recipients(session, enrollment).for_role(step.assignee_role)
        if who is None:
            continue
        deadline = _deadline(step, {})
        ref = f"F-{step.enrollment_id:05d}"
        if not any(
            at <= deadline and ref in text and step.name in text
            for at, text in by_person.get(staff[who], [])
        ):
            missing.append((step.key, ref, staff[who]))
    assert not missing, missing[:10]


def test_no_personal_data_and_the_end_reads_as_one_line(caseload: Any) -> None:
    budget, open_session = caseload
    with open_session() as s:
        refs = [c.ref for c in s.exec(select(t.CitizenRow))]
    ended = Counter()
    for m in budget.mails:
        body = text_of(m)
        for canary in (CPR, CPR.replace("-", ""), NAME, *refs):
            assert canary not in body
        assert not CPR_PATTERN.search(body)
        if "er afsluttet: ordinære løntimer; " in body:
            ended[m.recipient] += 1
    assert ended[IBA] > 0, "the HOP women with paid hours: one line each in her digest"
