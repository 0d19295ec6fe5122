"""The citizen's extract holds every row about her and nothing about anyone else; it
shows who read her data; making it is itself audited."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_world import seed
from sqlmodel import col, select

from iba_workflow.privacy.extract import build_extract, render_extract_pdf
from iba_workflow.store.records import read_citizen_identity
from iba_workflow.store.tables import (
    AttendanceRow,
    AuditRow,
    CitizenRow,
    CompletionRow,
    ConsentRow,
    EnrollmentRow,
    MeasurementRow,
    OutboxRow,
    OutcomeRow,
    StepInstanceRow,
    VisitationRow,
)

AT = dt.datetime(2027, 5, 3, 10, tzinfo=dt.UTC)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "privacy"


def _identity(ref: str, n: int) -> list[str]:
    return [f"Navn{ref}Testesen", f"0101{n:02d}-4{n:03d}", f"{ref.lower()}@borger.invalid"]


def _ids(rows: list[dict[str, Any]]) -> set[int]:
    return {int(r["id"]) for r in rows}


def test_extract_has_every_row_about_her_and_nothing_of_the_others(open_session: Any) -> None:
    with open_session() as session:
        seed(session, identities=True)
        f1 = session.exec(select(CitizenRow).where(CitizenRow.ref == "F1")).one()
        read_citizen_identity(session, f1.id, actor="staff:7", purpose="opkald", at=AT)
        data = build_extract(session, "F1", actor="staff:1", at=AT)

        eids = {
            e.id
            for e in session.exec(select(EnrollmentRow).where(EnrollmentRow.citizen_id == f1.id))
        }
        steps = set(
            session.exec(
                select(StepInstanceRow.id).where(col(StepInstanceRow.enrollment_id).in_(eids))
            ).all()
        )
        expected = {
            "visitationer": select(VisitationRow.id).where(VisitationRow.citizen_id == f1.id),
            "samtykker": select(ConsentRow.id).where(ConsentRow.citizen_id == f1.id),
            "udfald": select(OutcomeRow.id).where(col(OutcomeRow.enrollment_id).in_(eids)),
            "maalinger": select(MeasurementRow.id).where(
                col(MeasurementRow.enrollment_id).in_(eids)
            ),
            "fremmoede": select(AttendanceRow.id).where(col(AttendanceRow.enrollment_id).in_(eids)),
            "gennemfoerelser": select(CompletionRow.id).where(
                col(CompletionRow.step_instance_id).in_(steps)
            ),
            "mails": select(OutboxRow.id).where(col(OutboxRow.enrollment_id).in_(eids)),
        }
        for section, query in expected.items():
            assert _ids(data[section]) == set(session.exec(query).all()), section
        assert _ids(data["trin"]) == steps and _ids(data["forloeb"]) == eids
        assert len(data["maalinger"]) == 8 and len(data["fremmoede"]) == 2
        assert data["mails"] and "subject" not in data["mails"][0]

        assert data["identitet"] == [
            dict(zip(("navn", "cpr", "email"), _identity("F1", 1), strict=True), telefon=None)
        ]
        reads = [r for r in data["log"] if r["action"] == "read_identity"]
        assert [(r["actor"], r["details"]["purpose"]) for r in reads] == [
            ("staff:7", "opkald"),
            ("staff:1", "indsigt"),
        ]
        text = json.dumps(data, ensure_ascii=False)
        for n, ref in enumerate(("F2", "F3", "F4", "F5", "E1", "E2", "R1", "R2", "R3"), 2):
            for needle in _identity(ref, n):
                assert needle not in text, (ref, needle)
        others = {e.id for e in session.exec(select(EnrollmentRow)) if e.id not in eids}
        assert not {r["enrollment_id"] for r in data["log"]} & others

        made = session.exec(select(AuditRow).where(AuditRow.action == "citizen_extract")).one()
        assert (made.actor, made.citizen_id) == ("staff:1", f1.id)
        assert made.details["sections"]["maalinger"] == 8


def test_extract_pdf_is_readable_danish_with_her_data_only(open_session: Any) -> None:
    with open_session() as session:
        seed(session, identities=True)
        data = build_extract(session, "F2", actor="staff:1", at=AT)
        pdf = render_extract_pdf(data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "udtraek_F2.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "Indsigt i egne oplysninger" in text
    assert "NavnF2Testesen" in text and "Log over læsning og ændringer" in text
    assert "NavnF1Testesen" not in text
    # A step is a card of Danish field names and its values, one field a line.
    lines = {line.strip() for chunk in text.splitlines() for line in chunk.split("   ")}
    assert data["trin"] and all(f"nøgle: {step['key']}" in lines for step in data["trin"])
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                str(path),
                str(ARTIFACTS / "udtraek_F2"),
            ],
            check=True,
        )


def test_iba_citizen_extract_cli_writes_json_and_refuses_an_unknown_ref(
    open_session: Any, store_url: str, tmp_path: Path
) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the CLI path is the same on both backends; tested once")
    with open_session() as session:
        seed(session, identities=True)
    env = {**os.environ, "IBA_DATABASE_URL": store_url}
    iba = [str(Path(sys.executable).parent / "iba")]
    done = subprocess.run(
        [*iba, "citizen", "extract", "E1"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identitet"][0]["navn"] == "NavnE1Testesen"
    missing = subprocess.run(
        [*iba, "citizen", "extract", "X9"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "no citizen with reference 'X9'" in missing.stderr and "Traceback" not in missing.stderr
