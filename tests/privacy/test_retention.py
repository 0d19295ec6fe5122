"""Retention: a dry run counts and writes nothing; then no personal data of the closed
cases is left in any column of any table, live cases keep theirs, and the reports of
those years give the same numbers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from report_world import PERIOD, seed
from scan import find_in_store
from sqlmodel import select

from iba_workflow.privacy.retention import run_retention
from iba_workflow.reports import build_report, render
from iba_workflow.store.records import read_citizen_identity
from iba_workflow.store.tables import CitizenIdentityRow, CitizenRow

AT = dt.datetime(2033, 1, 3, 2, tzinfo=dt.UTC)
PERIODS = {"identity": 5, "notes": 5}
CLOSED = {"F1": 1, "F2": 2, "F3": 3, "F4": 4, "R1": 8, "R2": 9, "R3": 10}
LIVE = {"F5": 5, "E1": 6, "E2": 7}


def planted(ref: str, n: int) -> list[str]:
    cpr = f"0101{n:02d}-4{n:03d}"
    return [f"Navn{ref}Testesen", cpr, cpr.replace("-", ""), f"{ref.lower()}@borger.invalid"]


def _report_json(session: Any) -> dict[str, Any]:
    report = build_report(
        session,
        definition_id="sunde_kvinder",
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        threshold=3,
        made_on=PERIOD[1],
        charts=False,
    )
    return dict(json.loads(render(report, "json")))


def test_nothing_of_closed_cases_remains_and_reports_are_unchanged(open_session: Any) -> None:
    with open_session() as session:
        seed(session, identities=True)
        before = _report_json(session)
        needles = [s for ref, n in CLOSED.items() for s in planted(ref, n)]
        # the identities are encrypted, but the note typed into a step names F1 in clear
        assert find_in_store(session, needles)

        dry = run_retention(
            session, today=AT.date(), periods=PERIODS, apply=False, actor="t", at=AT
        )
        session.commit()
        assert len(dry.citizens["identity"]) == 7
        assert dry.counts["identity.citizen_identity"] == 7
        assert dry.counts["notes.completion"] > 0
        assert len(session.exec(select(CitizenIdentityRow)).all()) == 10  # dry: nothing gone

        too_early = run_retention(
            session, today=dt.date(2032, 4, 22), periods=PERIODS, apply=False, actor="t", at=AT
        )
        # rejected in January and F4's early exit in February 2027 are 5 years old; the
        # three who finished on 22 April 2027 are not, yet
        assert too_early.citizens["identity"] == sorted(
            c.id for c in session.exec(select(CitizenRow)) if c.ref in ("F4", "R1", "R2", "R3")
        )

        run_retention(session, today=AT.date(), periods=PERIODS, apply=True, actor="t", at=AT)
        session.commit()

    with open_session() as session:
        assert find_in_store(session, needles) == []
        refs = {c.ref for c in session.exec(select(CitizenRow))}
        assert not refs & set(CLOSED) and refs >= set(LIVE)
        assert sum(r.startswith("slettet-") for r in refs) == 7
        e1 = session.exec(select(CitizenRow).where(CitizenRow.ref == "E1")).one()
        who = read_citizen_identity(session, e1.id, actor="t", purpose="t", at=AT)
        assert who.name == "NavnE1Testesen"  # a live case keeps her identity
        assert _report_json(session)["tabeller"] == before["tabeller"]
        again = run_retention(
            session, today=AT.date(), periods=PERIODS, apply=False, actor="t", at=AT
        )
        assert again.counts["identity.citizen_identity"] == 0


def test_a_citizen_never_visited_is_closed_from_registration(open_session: Any) -> None:
    from iba_workflow.clock import FixedClock
    from iba_workflow.engine import EngineContext, register_citizen

    ctx = EngineContext(clock=FixedClock(dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)))
    with open_session() as session:
        register_citizen(session, ctx, ref="N1", municipality="hedensted", name="Nadia N")
        session.commit()
        early = run_retention(
            session, today=dt.date(2032, 2, 28), periods=PERIODS, apply=True, actor="t", at=AT
        )
        assert early.citizens["identity"] == []
        due = run_retention(
            session, today=dt.date(2032, 3, 2), periods=PERIODS, apply=True, actor="t", at=AT
        )
        session.commit()
        assert len(due.citizens["identity"]) == 1
        assert find_in_store(session, ["Nadia"]) == []
