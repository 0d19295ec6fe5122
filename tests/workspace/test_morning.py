"""Issue 11, 'Done when' #2: a coordinator's morning, over real HTTP with a real sign-in
by mail. She signs in, sees yesterday's overdue task on Min uge, completes it, decides a
visitation for a new citizen, reads the impact of a two-week pause on another enrollment
and confirms it. Afterwards the store, the outbox and the audit log hold exactly that."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import httpx
from dispatch.world import SmtpServer
from identity_helpers import sign_in
from office import Office
from sqlmodel import col, select

from iba_workflow.clock import COPENHAGEN
from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found
    return found.group(1)


def _latest_overdue_task(office: Office) -> t.StepInstanceRow:
    with office.world.session() as s:
        step = s.exec(
            select(t.StepInstanceRow)
            .where(
                t.StepInstanceRow.enrollment_id == 1,
                t.StepInstanceRow.assignee_role == "iba",
                col(t.StepInstanceRow.kind).in_(["task", "meeting", "evaluation"]),
                col(t.StepInstanceRow.status).in_(t.OPEN_STEP_STATUSES),
                col(t.StepInstanceRow.due_date) < dt.date(2027, 3, 1),
            )
            .order_by(col(t.StepInstanceRow.due_date).desc())
        ).all()
    weekday = [s for s in step if s.due_date.weekday() < 4]  # so the morning after is a workday
    assert weekday
    return weekday[0]


def _ids(world: Any, table: Any) -> int:
    with world.session() as s:
        return max([r.id for r in s.exec(select(table))] or [0])


def test_a_coordinators_morning(office: Office, smtp: SmtpServer, web: Any) -> None:
    w = office.world
    task = _latest_overdue_task(office)
    morning = dt.datetime.combine(task.due_date + dt.timedelta(days=1), dt.time(8), COPENHAGEN)
    w.clock.set(morning)  # the morning after the task's day
    last_audit, last_outbox = _ids(w, t.AuditRow), _ids(w, t.OutboxRow)
    with httpx.Client(base_url=web.url, timeout=20, follow_redirects=True) as client:
        week = sign_in(client, smtp, w.staff_email("iba")).text  # lands on Min uge
        form = re.search(
            rf'<form method="post" action="/min-uge/opgave/{task.id}">(.*?)</form>', week, re.S
        )
        assert form and "overskredet" in week.split(task.name, 1)[1][:400]
        posted: dict[str, Any] = {"csrf": _csrf(week), "note": "Klaret i telefonen"}
        outcome = re.search(r'name="outcome" value="([^"]+)"', form.group(1))
        if outcome:
            posted["outcome"] = outcome.group(1)
        receipt = client.post(f"/min-uge/opgave/{task.id}", data=posted)
        assert receipt.status_code == 200 and "er registreret" in receipt.text
        assert "Det sker nu" in receipt.text

        page = client.get("/visitation", params={"indsats": "hop"}).text
        visit = {"csrf": _csrf(page), "indsats": "hop", "ref": "B-0300", "navn": "Nour Morgen",
                 "cpr": "020388-1234", "beslutning": "optag",
                 "start": (morning.date() + dt.timedelta(days=14)).isoformat()}  # fmt: skip
        for c in w.definition.eligibility:
            if not c.health:
                visit[f"kriterie_{c.id}"] = "ja"
        done = client.post("/visitation", data=visit)
        assert done.status_code == 200 and "optaget, start" in done.text, done.text

        first = morning.date() + dt.timedelta(days=7)
        enrollment = client.get("/forloeb/2").text
        pause = {"csrf": _csrf(enrollment), "handling": "pause", "fra": first.isoformat(),
                 "til": (first + dt.timedelta(days=13)).isoformat()}  # fmt: skip
        impact = client.post("/forloeb/2/aendring", data=pause)
        assert "Før du bekræfter" in impact.text and "Flyttes:" in impact.text
        moved = len(re.findall(r"<strong>Flyttes:</strong>", impact.text))
        confirmed = client.post("/forloeb/2/aendring", data={**pause, "bekraeft": "ja"})
        assert "Gemt: Pause" in confirmed.text

    with w.session() as s:
        completion = s.exec(
            select(t.CompletionRow).where(t.CompletionRow.step_instance_id == task.id)
        ).one()
        assert (completion.by_staff_id, completion.channel) == (w.staff["iba"], "workspace")
        assert len(s.exec(select(t.CompletionRow)).all()) == 1
        citizen = s.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "B-0300")).one()
        new = s.exec(select(t.EnrollmentRow).where(t.EnrollmentRow.citizen_id == citizen.id)).one()
        assert new.status == "active" and new.start == morning.date() + dt.timedelta(days=14)
        paused = s.get(t.EnrollmentRow, 2)
        assert paused is not None and [a["kind"] for a in paused.adjustments] == ["pause"]
        untouched = s.get(t.EnrollmentRow, 1)
        assert untouched is not None and untouched.adjustments == []
        audit = s.exec(select(t.AuditRow).where(col(t.AuditRow.id) > last_audit)).all()
        outbox = s.exec(select(t.OutboxRow).where(col(t.OutboxRow.id) > last_outbox)).all()
    me = f"staff:{w.staff['iba']}"
    assert {a.actor for a in audit} == {me}
    actions = Counter(a.action for a in audit if a.action != "read_identity")
    assert actions == Counter(
        {
            "signed_in": 1,
            "step_completed": 1,
            "citizen_registered": 1,
            "visitation_recorded": 1,
            "replanned": 1,
        }
    )
    reads = [(a.citizen_id, a.details["purpose"]) for a in audit if a.action == "read_identity"]
    assert set(reads) == {(2, "page:forloeb")} and len(reads) == 3  # the page, impact, receipt
    replanned = next(a for a in audit if a.action == "replanned")
    assert replanned.enrollment_id == 2 and replanned.details["change"]["kind"] == "pause"
    assert len(replanned.details["impact"]) >= moved > 0
    # The outbox: nothing for anyone but the enrollments of this morning, no personal data.
    kinds: dict[int | None, set[str]] = {}
    for o in outbox:
        kinds.setdefault(o.enrollment_id, set()).add(o.kind)
    assert kinds.pop(None) == {"sign_in"}  # the sign-in link, and nothing else unbound
    assert kinds.pop(2) == {"change"}  # the pause: the moved steps, to those who knew
    assert kinds.pop(new.id) == {"meeting_invitation"}  # the new citizen's first meetings
    assert set(kinds) <= {1} and kinds.get(1, set()) <= {"meeting_invitation", "change"}
    dump = repr([(o.kind, o.payload) for o in outbox]) + repr([a.details for a in audit])
    assert "Nour" not in dump and "020388" not in dump
