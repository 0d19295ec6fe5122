"""``iba staff notify``: a person's choice per kind, stored and obeyed by the dispatcher;
bad input is a sentence and a hint."""

from __future__ import annotations

import datetime as dt

import pytest
from test_notify_digest import defaults, tick_at, to, visit
from typer.testing import CliRunner
from world import SmtpServer, World

from iba_workflow.cli.app import app


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    assert (result.exit_code == 0) == ok, result.output
    return result.output


async def test_preferences_by_cli_are_obeyed(
    world: World, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IBA_DATABASE_URL", world.store_url)
    defaults(world)
    shown = run("staff", "notify", world.staff_email("leder"))
    assert "meeting_invitation   digest" in shown
    changed = run(
        "staff", "notify", world.staff_email("leder"), "--set", "meeting_invitation=immediate"
    )
    assert "meeting_invitation   immediate" in changed and "new_task             digest" in changed
    bad = run("staff", "notify", world.staff_email("leder"), "--set", "moeder=straks", ok=False)
    assert "no notification kind 'moeder'" in bad and "hint: kinds: new_task" in bad
    assert "no staff member" in run("staff", "notify", "nobody@x.test", ok=False)

    visit(world)
    await tick_at(world, dt.date(2027, 3, 1), 7)  # before working hours: nothing yet
    assert smtp.mails == []
    await tick_at(world, dt.date(2027, 3, 1))
    [leder] = to(smtp, world, "leder")  # two meetings (oplæg, besøg), one mail, two .ics
    assert len(leder.ics_files()) == 2 and "METHOD:REQUEST" in leder.ics_files()[0]
    [iba] = to(smtp, world, "iba")
    assert iba.subject.startswith("Morgenoversigt") and iba.ics_files() == []


def test_simulate_budget_prints_mails_per_person_week_and_kind() -> None:
    """A mix on the command line, as JSON lines: one Fagmentor woman, and the Sunde
    kvinder cohort of 2027-02-01."""
    import json

    out = run(
        "simulate",
        "--budget",
        "--json",
        "--mix",
        "fagmentor:1:2027-03-01",
        "--mix",
        "sunde_kvinder:1:2027-02-01:hold_2027_foraar",
    )
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines and {tuple(sorted(x)) for x in lines} == {
        ("kind", "mails", "person", "roles", "scenario", "week")
    }
    iba = [x for x in lines if x["person"] == "iba@hedensted.sim.invalid"]
    assert iba and {x["kind"] for x in iba} == {"digest"}
    assert {x["roles"] for x in lines} >= {"iba", "fagmentor"}
    assert "no scenario 'x'" in run("simulate", "--scenario", "x", ok=False)
