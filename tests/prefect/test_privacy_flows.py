"""The monthly report and retention flows, run in-process against a real Prefect server
over a store seeded through the engine: the artifacts hold the suppressed tables and the
charts and no personal data; after retention no personal data of the closed cases is in
any column of any table, and the report of that year is unchanged."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "privacy"))

from report_world import EXPECTED, PERIOD, seed
from scan import find_in_store

from iba_workflow.orchestration.readback import (
    collect_visible_texts,
    find_canaries,
)

pytestmark = pytest.mark.usefixtures("prefect_server")
CLOSED = {"F1": 1, "F2": 2, "F3": 3, "F4": 4, "R1": 8, "R2": 9, "R3": 10}


def _planted(ref: str, n: int) -> list[str]:
    cpr = f"0101{n:02d}-4{n:03d}"
    return [f"Navn{ref}Testesen", cpr, cpr.replace("-", ""), f"{ref.lower()}@borger.invalid"]


@pytest.fixture
def seeded_runtime(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from iba_workflow.orchestration.runtime import runtime
    from iba_workflow.store import make_engine, session_factory

    target = tmp_path / "iba.sqlite3"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    with session_factory(engine)() as session:
        seed(session, identities=True)
    monkeypatch.setenv("IBA_DATABASE_URL", url)
    monkeypatch.setenv("IBA_DATA_DIR", str(tmp_path / "data"))
    runtime.cache_clear()
    yield session_factory(engine)
    runtime.cache_clear()
    engine.dispose()


def _texts() -> list[str]:
    from prefect import get_client

    async def read() -> list[str]:
        async with get_client() as client:
            return await collect_visible_texts(client)

    return asyncio.run(read())


def _table_artifact(key: str) -> list[dict[str, Any]]:
    from prefect import get_client

    async def read() -> Any:
        async with get_client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            return found[0].data

    data = asyncio.run(read())
    return list(json.loads(data) if isinstance(data, str) else data)


def test_monthly_report_and_retention_flows(seeded_runtime: Any, tmp_path: Path) -> None:
    from flows.reports import monthly_report, retention

    state = monthly_report(month="2027-01", return_state=True)
    assert state.is_completed(), state.message
    folder = tmp_path / "data" / "reports" / "sunde_kvinder"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2027-01.html",
        "2027-01.json",
        "2027-01.pdf",
        "2027-01.xlsx",
    ]
    rows = _table_artifact("rapport-sunde-kvinder-forloeb")
    total = next(r for r in rows if r["Hold"] == "I alt")
    # on 31 January nobody had started; one waits (<3), so the three rejected are hidden
    # too (10 = 3 + waiting + 6 not yet started would give her back)
    assert (total["Henvist"], total["Afvist"], total["Venter"], total["Startet"]) == (
        10,
        "..",
        "<3",
        0,
    )
    texts = _texts()
    assert any("rapport-sunde-kvinder-figurer" in t for t in texts)
    needles = [s for ref, n in CLOSED.items() for s in _planted(ref, n)]
    assert find_canaries(texts, needles) == []

    with seeded_runtime() as session:
        assert find_in_store(session, needles)  # F1's note names her in clear
    state = retention(today="2033-01-03", return_state=True)
    assert state.is_completed(), state.message
    assert "identity: 7 borgere" in str(state.result())
    counts = {r["hvad"]: r["antal"] for r in _table_artifact("retention")}
    assert counts["identity.citizen_identity"] == 7 and counts["identity.borgere"] == 7
    with seeded_runtime() as session:
        assert find_in_store(session, needles) == []
        from iba_workflow.reports import build_report

        report = build_report(
            session,
            definition_id="sunde_kvinder",
            period_from=PERIOD[0],
            period_to=PERIOD[1],
            threshold=3,
            made_on=PERIOD[1],
            charts=False,
        )
        assert {t.key: t.rows for t in report.tables} == EXPECTED
    assert find_canaries(_texts(), needles) == []
