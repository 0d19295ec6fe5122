"""``iba visit`` and ``iba serve`` errors are a sentence and a hint, never a traceback;
a visitation whose announcement fails stays stored (the next tick announces it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from iba_workflow.cli.app import app
from iba_workflow.orchestration.runtime import load_definitions
from iba_workflow.orchestration.server import free_port
from iba_workflow.store import make_engine, session_factory, upgrade
from iba_workflow.store.requests import VisitationRequestRow

# Every criterion must be answered: take them from the definition, not a copy of it.
YES = [
    arg
    for criterion in load_definitions()["fagmentor"].eligibility
    for arg in ("--answer", f"{criterion.id}=yes")
]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'iba.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("IBA_DATABASE_URL", url)
    monkeypatch.setenv("IBA_DATA_DIR", str(tmp_path / "data"))
    from iba_workflow.orchestration import runtime

    runtime.runtime.cache_clear()
    yield url
    runtime.runtime.cache_clear()


def test_visit_via_prefect_without_a_reachable_api_keeps_the_request(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["citizen", "add", "E-0001"]).exit_code == 0
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    start = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    result = runner.invoke(
        app, ["visit", "fagmentor", "--citizen", "E-0001", "--accept", "--start", start, *YES]
    )
    assert result.exit_code == 1
    assert "cannot be reached" in result.output and "hint:" in result.output
    assert "Traceback" not in result.output
    engine = make_engine(cli_env)
    with session_factory(engine)() as session:
        (row,) = session.exec(select(VisitationRequestRow)).all()
        assert row.status == "received" and row.key in result.output
    engine.dispose()


def test_visit_direct_without_prefect(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["citizen", "add", "E-0002"]).exit_code == 0
    start = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    result = runner.invoke(
        app, ["visit", "fagmentor", "--citizen", "E-0002", "--accept", "--start", start, *YES]
    )
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output and "enrollment" in result.output
