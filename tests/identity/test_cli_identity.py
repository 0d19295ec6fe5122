"""``iba apikey`` and ``iba staff add --coordinates``: a key shown once and stored only
as a hash, listed by its first characters, revoked; a coordinator's interventions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from iba_workflow.cli import app

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IBA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IBA_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return tmp_path / "iba.sqlite3"


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    from iba_workflow.store import make_engine

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def test_apikey_create_list_revoke(store: Path) -> None:
    made = runner.invoke(app, ["apikey", "create", "--scope", "visitations:write", "--name", "crm"])
    assert made.exit_code == 0, made.output
    [key] = re.findall(r"^ibak_[A-Za-z0-9_-]{43}$", made.output, flags=re.M)
    assert "Shown once" in made.output
    dump = repr(_rows(store, "SELECT * FROM api_key"))
    assert key not in dump and key[5:] not in dump and "visitations:write" in dump
    listed = runner.invoke(app, ["apikey", "list"], terminal_width=200)
    assert key[:11] in listed.output and key not in listed.output and "crm" in listed.output
    assert runner.invoke(app, ["apikey", "revoke", "1"]).exit_code == 0
    [(revoked,)] = _rows(store, "SELECT revoked_at FROM api_key")
    assert revoked is not None
    bad = runner.invoke(app, ["apikey", "create", "--scope", "everything"])
    assert bad.exit_code == 1 and "known scopes: visitations:write" in bad.output
    assert runner.invoke(app, ["apikey", "revoke", "7"]).exit_code == 1


def test_staff_add_with_the_interventions_she_coordinates(store: Path) -> None:
    args = ["staff", "add", "--name", "Iben", "--email", "iben@kommune.test", "--role", "iba"]
    ok = runner.invoke(app, [*args, "--coordinates", "hop", "--coordinates", "sunde_kvinder"])
    assert ok.exit_code == 0 and "coordinates hop, sunde_kvinder" in ok.output, ok.output
    assert sorted(_rows(store, "SELECT staff_id, definition_id FROM staff_coordinates")) == [
        (1, "hop"),
        (1, "sunde_kvinder"),
    ]
    other = ["staff", "add", "--name", "R", "--email", "r@rebild.test", "--role", "iba"]
    refused = runner.invoke(app, [*other, "--municipality", "rebild", "--coordinates", "hop"])
    assert refused.exit_code == 1 and "run by hedensted, not by rebild" in refused.output
    assert _rows(store, "SELECT count(*) FROM staff") == [(1,)]
