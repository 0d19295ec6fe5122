"""A handover proposal on the Visitation page, over real HTTP: the coordinator sees the
proposal waiting, opens it (no name or CPR asked: the citizen is registered), is refused
with a sentence when a criterion is unanswered, and decides it with the eligibility form;
the citizen is enrolled and the proposal leaves the list."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any

from office import Office, SignedIn
from sqlmodel import select

from iba_workflow.definition.model import Outcome
from iba_workflow.engine import register_citizen
from iba_workflow.engine.handover import propose_handover
from iba_workflow.store import tables as t
from iba_workflow.store.requests import VisitationRequestRow

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _propose(office: Office) -> int:
    w = office.world
    with w.session() as s:
        citizen = register_citizen(s, w.ctx, ref="B-0300", municipality="hedensted", name="X")
        outcome = Outcome.model_validate(
            {"id": "klar", "name": "Klar", "proposes": {"definition": "hop"}}
        )
        source: Any = SimpleNamespace(citizen_id=citizen.id, id=None)
        row = propose_handover(s, w.ctx, enrollment=source, outcome=outcome, step_key="slut")
        assert row is not None
        s.commit()
        return row.id or 0


def _form(office: Office, page: str, proposal: int, **change: str) -> dict[str, str]:
    found = CSRF.search(page)
    assert found
    form = {"csrf": found.group(1), "indsats": "hop", "forslag": str(proposal),
            "beslutning": "optag", "start": "2027-03-15"}  # fmt: skip
    for c in office.world.definition.eligibility:
        if not c.health:
            form[f"kriterie_{c.id}"] = "ja"
    form.update(change)
    return form


def test_the_coordinator_decides_a_handover_proposal(office: Office, signed_in: SignedIn) -> None:
    proposal = _propose(office)
    client = signed_in(office.world.staff["iba"])
    page = client.get("/visitation", params={"indsats": "hop"}).text
    assert "Forslag fra andre indsatser" in page and "B-0300" in page
    assert f"forslag={proposal}" in page
    opened = client.get("/visitation", params={"indsats": "hop", "forslag": proposal}).text
    assert "Forslag: B-0300" in opened and f'name="forslag" value="{proposal}"' in opened
    assert 'name="cpr"' not in opened and 'name="navn"' not in opened
    refused = client.post(
        "/visitation", data=_form(office, opened, proposal, kriterie_motivation="")
    )
    assert refused.status_code == 422 and "Svar ja eller nej" in refused.text
    with office.world.session() as s:
        assert s.get(VisitationRequestRow, proposal).status == "proposed"  # type: ignore[union-attr]
    done = client.post("/visitation", data=_form(office, opened, proposal))
    assert done.status_code == 200 and "Visitationen er gemt" in done.text, done.text
    with office.world.session() as s:
        citizen = s.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "B-0300")).one()
        e = s.exec(select(t.EnrollmentRow).where(t.EnrollmentRow.citizen_id == citizen.id)).one()
        assert (e.definition_id, e.status, e.start) == ("hop", "active", dt.date(2027, 3, 15))
        row = s.get(VisitationRequestRow, proposal)
        assert row is not None and (row.status, row.enrollment_id) == ("processed", e.id)
    after = client.get("/visitation", params={"indsats": "hop"}).text
    assert "Forslag fra andre indsatser" not in after
    again = client.post("/visitation", data=_form(office, opened, proposal))
    assert again.status_code == 422 and "allerede behandlet" in again.text
