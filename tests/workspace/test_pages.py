"""Every workspace page over real HTTP, as each role: what each may see and do, the
coordinator's name reads in the audit log, Danish errors that keep nothing half-done."""

from __future__ import annotations

import re
from pathlib import Path

from dispatch.world import CANARIES, NAME
from office import Office, SignedIn
from sqlmodel import col, select

from iba_workflow.privacy.law_rules import RULES_FILE
from iba_workflow.store import tables as t

CSRF = re.compile(r'name="csrf" value="([^"]+)"')

PAGES = ["/min-uge", "/forloeb", "/forloeb/1", "/visitation", "/hold", "/medarbejdere",
         "/indsatser", "/indsatser?indsats=hop"]  # fmt: skip


def test_each_role_gets_the_pages_the_policy_allows(office: Office, signed_in: SignedIn) -> None:
    w = office.world
    expected = {
        w.staff["iba"]: {p: 200 for p in PAGES} | {"/medarbejdere": 403},
        w.staff["underviser"]: {p: 200 for p in PAGES}
        | {"/visitation": 403, "/hold": 200, "/medarbejdere": 403, "/forloeb/1": 200},
        office.admin_id: {p: 200 for p in PAGES}
        | {"/visitation": 403, "/forloeb/1": 403, "/medarbejdere": 200},
    }
    for staff_id, pages in expected.items():
        client = signed_in(staff_id)
        for path, status in pages.items():
            r = client.get(path)
            assert r.status_code == status, (staff_id, path, r.status_code)
            assert 'lang="da"' in r.text
            if staff_id != w.staff["iba"]:
                assert not [c for c in CANARIES if c in r.text], (staff_id, path)
    assert signed_in(w.staff["iba"]).get("/").url.path == "/min-uge"
    assert signed_in(w.staff["iba"]).get("/min-side").url.path == "/min-uge"


def test_min_uge_lists_own_tasks_overdue_first_and_the_coordinated_count(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    page = signed_in(w.staff["iba"]).get("/min-uge").text
    assert "Min uge" in page and "Overskredet" in page and "Denne uge" in page
    assert "Overskredet i de indsatser, du koordinerer" in page
    first_overdue = page.index("Overskredet <span")
    assert first_overdue < page.index("Denne uge")
    assert "F-00001" in page and NAME not in page  # no names on Min uge
    worker = signed_in(w.staff["underviser"]).get("/min-uge").text
    assert "koordinerer" not in worker


def test_the_coordinator_reads_the_name_on_the_enrollment_and_it_is_audited(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    page = signed_in(w.staff["iba"]).get("/forloeb/1").text
    assert NAME in page and "Plan" in page and "Uge 1" in page
    worker = signed_in(w.staff["underviser"]).get("/forloeb/1").text
    assert NAME not in worker and "Ændr forløbet" not in worker
    with w.session() as s:
        reads = s.exec(select(t.AuditRow).where(t.AuditRow.action == "read_identity")).all()
    assert [(r.actor, r.details["purpose"]) for r in reads] == [
        (f"staff:{w.staff['iba']}", "page:forloeb")
    ]


def test_forloeb_filters_and_search(office: Office, signed_in: SignedIn) -> None:
    client = signed_in(office.world.staff["iba"])
    page = client.get("/forloeb").text
    assert "F-00001" in page and "F-00002" in page and "af 13" in page
    with office.world.session() as s:
        nxt = s.exec(
            select(t.StepInstanceRow)
            .where(t.StepInstanceRow.enrollment_id == 2, t.StepInstanceRow.kind != "session")
            .order_by(col(t.StepInstanceRow.due_date), col(t.StepInstanceRow.id))
        ).first()
    assert nxt is not None
    row = page.split('href="/forloeb/2"', 1)[1].split("</tr>", 1)[0]
    assert nxt.name in row  # the next step of F-00002
    assert "F-00002" not in client.get("/forloeb", params={"q": "F-1"}).text
    found = client.get("/forloeb", params={"q": "b-0002"}).text
    assert "F-00002" in found and "F-00001" not in found
    late = client.get("/forloeb", params={"overskredet": "1"}).text
    assert "F-00001" in late and "F-00002" not in late  # F-2 starts next week


def test_pause_shows_the_impact_before_anything_is_written(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    csrf = CSRF.search(client.get("/forloeb/1").text).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf, "handling": "pause", "fra": "2027-03-01", "til": "2027-03-12"}
    with w.session() as s:
        before = [(r.key, r.due_date) for r in s.exec(select(t.StepInstanceRow))]
    preview = client.post("/forloeb/1/aendring", data=form)
    assert preview.status_code == 200 and "Før du bekræfter" in preview.text
    assert "Flyttes:" in preview.text
    with w.session() as s:
        assert [(r.key, r.due_date) for r in s.exec(select(t.StepInstanceRow))] == before
    done = client.post("/forloeb/1/aendring", data={**form, "bekraeft": "ja"})
    assert done.status_code == 200 and "Gemt: Pause" in done.text
    with w.session() as s:
        e = s.get(t.EnrollmentRow, 1)
        assert e is not None and e.adjustments[-1]["kind"] == "pause"
        audit = s.exec(select(t.AuditRow).where(t.AuditRow.action == "replanned")).all()
        assert [a.actor for a in audit] == [f"staff:{w.staff['iba']}"]


def test_a_bad_change_is_a_danish_sentence_and_writes_nothing(
    office: Office, signed_in: SignedIn
) -> None:
    w = office.world
    client = signed_in(w.staff["iba"])
    csrf = CSRF.search(client.get("/forloeb/1").text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/forloeb/1/aendring",
        data={"csrf": csrf, "handling": "pause", "fra": "1. marts", "til": "2027-03-12",
              "bekraeft": "ja"},
    )  # fmt: skip
    assert r.status_code == 422 and "Første dag mangler eller er ikke en dato" in r.text
    assert "Traceback" not in r.text
    no_csrf = client.post("/forloeb/1/aendring", data={"handling": "forlaeng", "uger": "2"})
    assert no_csrf.status_code == 400
    with w.session() as s:
        assert not s.exec(select(t.AuditRow).where(col(t.AuditRow.action).in_(["replanned"]))).all()


def test_indsatser_shows_the_law_rules_the_plan_breaks(
    office: Office, signed_in: SignedIn, tmp_path: Path
) -> None:
    """The municipality's own rules file (IBA_LAW_RULES_FILE): a stricter follow-up rule
    shows on the plan preview with its paragraph and the fix; the shipped rules pass."""
    w = office.world
    client = signed_in(w.staff["iba"])
    page = client.get("/indsatser?indsats=hop").text
    assert "Planen overholder kommunens lovregler." in page
    stricter = tmp_path / "law_rules.yaml"
    stricter.write_text(
        RULES_FILE.read_text(encoding="utf-8").replace(
            "min_conversations: 4", "min_conversations: 60"
        ),
        encoding="utf-8",
    )
    w.settings.law_rules_file = stricter
    page = client.get("/indsatser?indsats=hop").text
    assert "Integrationsloven § 20" in page and "mindst 30 kræves" in page
    assert "Ret: tilføj en opfølgningssamtale" in page
    assert "overholder" not in page
