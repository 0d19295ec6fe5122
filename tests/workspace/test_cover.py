"""Cover during absence: the administrator names a colleague for a period on
Medarbejdere; on those days, what would go to the absent person goes to the colleague
(the engine's recipients, so the due tick and re-planning mail her), and afterwards
to the person again."""

from __future__ import annotations

import datetime as dt
import re

from office import Office, SignedIn
from sqlmodel import select

from iba_workflow.engine.apply import Recipients
from iba_workflow.engine.due import enqueue_due_notifications
from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_a_colleague_covers_the_iba_for_two_weeks(office: Office, signed_in: SignedIn) -> None:
    w = office.world
    iba, cover = w.staff["iba"], w.staff["underviser"]
    admin = signed_in(office.admin_id)
    page = admin.get("/medarbejdere").text
    csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
    r = admin.post(
        "/medarbejdere",
        data={"csrf": csrf, "handling": "afloeser", "person": str(iba),
              "afloeser": str(cover), "fra": "2027-03-01", "til": "2027-03-12"},
    )  # fmt: skip
    assert r.status_code == 200 and "går til en kollega" in r.text, r.text
    bad = admin.post(
        "/medarbejdere",
        data={"csrf": csrf, "handling": "afloeser", "person": str(iba),
              "afloeser": str(cover), "fra": "2027-03-12", "til": "2027-03-01"},
    )  # fmt: skip
    assert bad.status_code == 422 and "slutter før den begynder" in bad.text
    with w.session() as s:
        [row] = s.exec(select(t.StaffCoverRow)).all()
        assert (row.staff_id, row.cover_staff_id) == (iba, cover)
        e = s.get(t.EnrollmentRow, 1)
        assert e is not None
        during = Recipients(s, e, on=dt.date(2027, 3, 5))
        after = Recipients(s, e, on=dt.date(2027, 3, 15))
        assert during.for_role("iba") == cover and after.for_role("iba") == iba
        before = max([o.id or 0 for o in s.exec(select(t.OutboxRow))] or [0])
        enqueue_due_notifications(s, w.ctx)  # Monday 1 March: in the period
    with w.session() as s:
        rows = [o for o in s.exec(select(t.OutboxRow)) if (o.id or 0) > before]
        to = {o.recipient_staff_id for o in rows}
    assert cover in to and iba not in to
    assert signed_in(w.staff["iba"]).post("/medarbejdere", data={"csrf": csrf}).status_code == 403
    # Min uge: the colleague sees the IBA's tasks in the period (and may complete them);
    # the IBA, away, does not
    theirs = signed_in(cover).get("/min-uge").text
    assert "F-00001" in theirs and "Progressionsmåling ved start" in theirs
    assert "F-00001" not in signed_in(iba).get("/min-uge").text
