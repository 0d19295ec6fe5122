"""Acting from the workspace over real HTTP: completing one's own task without a mail
link (and the warning before completing one early), deciding a visitation for a new
citizen, the CPR check, a refused visitation leaving nothing behind."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from office import Office, SignedIn
from sqlmodel import col, select

from iba_workflow.errors import InvalidInput
from iba_workflow.store import tables as t
from iba_workflow.workspace.cpr import check_cpr

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TODAY = dt.date(2027, 3, 1)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found
    return found.group(1)


def _open_step(office: Office, *, enrollment: int, before: bool) -> t.StepInstanceRow:
    with office.world.session() as s:
        rows = s.exec(
            select(t.StepInstanceRow)
            .where(
                t.StepInstanceRow.enrollment_id == enrollment,
                col(t.StepInstanceRow.status).in_(t.OPEN_STEP_STATUSES),
                t.StepInstanceRow.kind == "task",
                t.StepInstanceRow.assignee_role == "iba",
            )
            .order_by(col(t.StepInstanceRow.due_date))
        ).all()
    chosen = [r for r in rows if (r.due_date < TODAY) == before]
    assert chosen, "no such step in the office"
    return chosen[0]


def test_she_completes_her_overdue_task_from_min_uge(office: Office, signed_in: SignedIn) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    page = client.get("/min-uge").text
    step = _open_step(office, enrollment=1, before=True)
    assert f'action="/min-uge/opgave/{step.id}"' in page
    r = client.post(f"/min-uge/opgave/{step.id}", data={"csrf": _csrf(page), "note": "Talt med"})
    assert r.status_code == 200 and "er registreret" in r.text
    assert "En note er gemt ved opgaven" in r.text and "Det sker nu" in r.text
    with w.session() as s:
        done = s.exec(
            select(t.CompletionRow).where(t.CompletionRow.step_instance_id == step.id)
        ).one()
        assert (done.by_staff_id, done.channel, done.data) == (
            w.staff["iba"],
            "workspace",
            {"note": "Talt med"},
        )
    assert f'action="/min-uge/opgave/{step.id}"' not in client.get("/min-uge").text


def test_a_step_completed_early_is_confirmed_after_a_warning(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    step = _open_step(office, enrollment=2, before=False)
    csrf = _csrf(client.get("/min-uge").text)
    warned = client.post(f"/min-uge/opgave/{step.id}", data={"csrf": csrf})
    assert warned.status_code == 200 and "før tid" in warned.text
    assert "Ja, registrér den nu" in warned.text
    with w.session() as s:
        assert not s.exec(select(t.CompletionRow)).all()  # the warning wrote nothing
        assert s.get(t.StepInstanceRow, step.id).status in t.OPEN_STEP_STATUSES  # type: ignore[union-attr]
    done = client.post(f"/min-uge/opgave/{step.id}", data={"csrf": csrf, "tidligt": "ja"})
    assert done.status_code == 200 and "er registreret" in done.text
    with w.session() as s:
        assert s.get(t.StepInstanceRow, step.id).status == "completed"  # type: ignore[union-attr]


def test_someone_elses_task_is_refused(office: Office, signed_in: SignedIn) -> None:
    w = office.world
    step = _open_step(office, enrollment=1, before=True)
    client = signed_in(w.staff["underviser"])
    r = client.post(f"/min-uge/opgave/{step.id}", data={"csrf": _csrf(client.get("/min-uge").text)})
    assert r.status_code == 403
    with w.session() as s:
        assert not s.exec(select(t.CompletionRow)).all()


def _visitation_form(office: Office, client: object, **change: str) -> dict[str, str]:
    page = client.get("/visitation", params={"indsats": "hop"}).text  # type: ignore[attr-defined]
    form = {"csrf": _csrf(page), "indsats": "hop", "ref": "B-0100", "navn": "Amina Test",
            "cpr": "150390-1234", "beslutning": "optag", "start": "2027-03-15"}  # fmt: skip
    for c in office.world.definition.eligibility:
        if not c.health:
            form[f"kriterie_{c.id}"] = "ja"
    form.update(change)
    return form


def test_a_visitation_registers_and_enrols_a_new_citizen(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    page = client.get("/visitation", params={"indsats": "hop"}).text
    assert "pladser optaget" in page and "på venteliste" in page
    r = client.post("/visitation", data=_visitation_form(office, client))
    assert r.status_code == 200 and "Visitationen er gemt" in r.text, r.text
    with w.session() as s:
        citizen = s.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "B-0100")).one()
        who = s.get(t.CitizenIdentityRow, citizen.id)
        assert who is not None and (who.name, who.cpr) == ("Amina Test", "150390-1234")
        e = s.exec(select(t.EnrollmentRow).where(t.EnrollmentRow.citizen_id == citizen.id)).one()
        assert (e.status, e.start) == ("active", dt.date(2027, 3, 15))
        dump = repr(s.exec(select(t.AuditRow)).all()) + repr(s.exec(select(t.OutboxRow)).all())
    assert "Amina" not in dump and "150390" not in dump


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpr": "12345"}, "CPR-nummeret skal have 10 cifre"),
        ({"cpr": "320190-1234"}, "er ikke en dato"),
        ({"kriterie_motivation": ""}, "Svar ja eller nej"),
        ({"ref": "150390-1234"}, "ligner et CPR-nummer"),
    ],
)
def test_a_refused_visitation_says_why_and_keeps_nothing(
    office: Office, signed_in: SignedIn, change: dict[str, str], message: str
) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    r = client.post("/visitation", data=_visitation_form(office, client, **change))
    assert r.status_code == 422 and message in r.text, r.text
    assert "150390-1234" not in r.text  # the CPR number is not echoed back
    with w.session() as s:
        assert not s.exec(select(t.CitizenRow).where(t.CitizenRow.ref == "B-0100")).all()
        assert len(s.exec(select(t.CitizenIdentityRow)).all()) == 2  # the office's two


def test_cpr_shape_and_a_plausible_birth_date() -> None:
    assert check_cpr("0101901234", today=TODAY) == "010190-1234"
    assert check_cpr("290200 4123", today=TODAY) == "290200-4123"  # born 2000 (7th digit 4)
    for bad in ("290201-1234", "010126-4123", "01019-1234", "abcdefghij", "010160-5123"):
        with pytest.raises(InvalidInput):
            check_cpr(bad, today=TODAY)
