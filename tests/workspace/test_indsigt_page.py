"""Indsigt (udtræk) in the workspace, over real HTTP: the administrator downloads one
citizen's extract as JSON or PDF (audited, with her as the actor); the coordinator and
a worker are refused; an unknown reference is a Danish sentence."""

from __future__ import annotations

import json
import re

from office import Office, SignedIn
from sqlmodel import select

from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found
    return found.group(1)


def _extract_lines(office: Office) -> list[t.AuditRow]:
    with office.world.session() as s:
        return list(s.exec(select(t.AuditRow).where(t.AuditRow.action == "citizen_extract")))


def test_the_administrator_downloads_the_json_and_the_pdf(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    client = signed_in(office.admin_id)
    page = client.get("/indsigt")
    assert page.status_code == 200 and "Indsigt (udtræk)" in page.text
    r = client.post(
        "/indsigt", data={"csrf": _csrf(page.text), "ref": w.citizen_ref, "format": "json"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["udtraek"]["borger"] == w.citizen_ref
    assert [e["id"] for e in data["forloeb"]] == [office.enrollments[0]]
    assert data["trin"] and all(s["enrollment_id"] == office.enrollments[0] for s in data["trin"])
    assert "B-0002" not in json.dumps(data)  # nothing of the second citizen
    (line,) = _extract_lines(office)
    assert line.actor == f"staff:{office.admin_id}"
    assert line.citizen_id == data["borger"][0]["id"]

    form = {"csrf": _csrf(page.text), "ref": "B-0002", "format": "pdf"}
    r = client.post("/indsigt", data=form, timeout=180)  # WeasyPrint is slow on a busy machine
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert len(_extract_lines(office)) == 2


def test_coordinator_and_worker_are_refused(office: Office, signed_in: SignedIn) -> None:
    w = office.world
    for staff_id in (w.staff["iba"], w.staff["underviser"]):
        client = signed_in(staff_id)
        assert client.get("/indsigt").status_code == 403
        csrf = _csrf(client.get("/min-uge").text)
        r = client.post("/indsigt", data={"csrf": csrf, "ref": w.citizen_ref, "format": "json"})
        assert r.status_code == 403 and w.citizen_ref not in r.text
    assert _extract_lines(office) == []


def test_an_unknown_reference_is_a_danish_sentence(office: Office, signed_in: SignedIn) -> None:
    client = signed_in(office.admin_id)
    csrf = _csrf(client.get("/indsigt").text)
    r = client.post("/indsigt", data={"csrf": csrf, "ref": "B-9999", "format": "pdf"})
    assert r.status_code == 404
    assert "Der findes ingen borger med referencen «B-9999»" in r.text
    assert "Traceback" not in r.text
    r = client.post("/indsigt", data={"csrf": csrf, "ref": "150390-1234", "format": "json"})
    assert r.status_code == 422 and "ikke et CPR-nummer" in r.text and "150390" not in r.text
    assert _extract_lines(office) == []
