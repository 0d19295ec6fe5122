"""Hold over real HTTP: per cohort its participants with their progress, the waiting list
in the order places are given, the group lessons (held, left, the next one) and where the
cohort stands; only for the coordinator of the intervention."""

from __future__ import annotations

import re

from dispatch.world import definition
from office import Office, SignedIn, enrol_cohort
from sqlmodel import col, select

from iba_workflow.engine import complete_step
from iba_workflow.store import tables as t


def _row(html: str, ref: str) -> str:
    found = re.search(
        rf'<tr>\s*<th scope="row"><a href="/forloeb/\d+">{ref}</a>.*?</tr>', html, re.S
    )
    assert found, ref
    return found.group(0)


def test_hold_shows_participants_waiting_list_lessons_and_progress(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    d = definition("de_internationale")
    ids = enrol_cohort(office)
    monday = w.clock.now()
    first = ids[0][0]
    with w.session() as s:
        lessons = s.exec(
            select(t.StepInstanceRow)
            .where(t.StepInstanceRow.enrollment_id == first, t.StepInstanceRow.kind == "session")
            .where(col(t.StepInstanceRow.due_date) < monday.date())
            .order_by(col(t.StepInstanceRow.due_date))
        ).all()
        held = {x.step_id for x in lessons}
        for x, present in zip(lessons[:3], ("yes", "no", "yes"), strict=True):
            complete_step(s, w.ctx, step_instance_id=x.id or 0, data={"present": present})
        s.commit()

    page = signed_in(w.staff["iba"]).get("/hold")
    assert page.status_code == 200
    html = page.text
    assert f"{d.name} · hold hold_2027" in html
    assert "Start mandag den 1. februar 2027 · uge 5 af" in html
    assert "5 af 5 pladser · 1 på venteliste" in html
    for n in range(1, 6):
        assert f"H-{n:04d}" in _row(html, f"F-{ids[n - 1][0]:05d}")
    assert "2 af 3 dage" in _row(html, f"F-{first:05d}")  # attended two of three lessons
    waiting = re.search(r"<h3>Venteliste</h3>\s*<ol>(.*?)</ol>", html, re.S)
    assert waiting and f"F-{ids[5][0]:05d}" in waiting.group(1) and "H-0006" in waiting.group(1)
    assert "visiteret søndag den 10. januar 2027" in waiting.group(1)
    table = re.search(r"<h3>Fælles undervisning</h3>(.*?)</table>", html, re.S)
    assert table, "the lessons are listed"
    for step in d.steps:
        if step.kind == "session" and step.id in held:
            assert step.name in table.group(1)
    assert re.search(r"<td>\d+</td><td>\d+</td><td>\w+dag den \d+\. marts 2027", table.group(1))
    assert "0 % af deltagernes opgaver er udført" in html  # none of their tasks is done yet
    assert "<td>0 af 13</td>" in _row(html, f"F-{first:05d}")

    teacher = signed_in(w.staff["underviser"]).get("/hold")  # coordinates no intervention
    assert teacher.status_code == 200 and "H-0001" not in teacher.text
    assert "Ingen hold" in teacher.text
