"""Visitation requests (no Prefect): a door stores the request under an opaque key; the
processing records the visitation exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlmodel import select

from iba_workflow.clock import FixedClock
from iba_workflow.engine import EngineContext, calendars_from
from iba_workflow.errors import InvalidInput
from iba_workflow.orchestration.intake import (
    Identity,
    process_visitation_request,
    receive_visitation,
)
from iba_workflow.orchestration.runtime import load_definitions
from iba_workflow.store.requests import VisitationRequestRow
from iba_workflow.store.tables import (
    AuditRow,
    CitizenIdentityRow,
    EnrollmentRow,
    VisitationRow,
)
from iba_workflow.store.work import unit_of_work

DEFINITIONS = load_definitions()
NOW = dt.datetime(2027, 2, 15, 8, tzinfo=dt.UTC)


def _ctx() -> EngineContext:
    return EngineContext(clock=FixedClock(NOW), calendars=calendars_from(None), actor="test")


def _receive(open_session: Any, ref: str = "B-7001", **extra: Any) -> str:
    extra.setdefault("answers", {c.id: True for c in DEFINITIONS["fagmentor"].eligibility})
    extra.setdefault("start", dt.date(2027, 3, 1))
    extra.setdefault("accept", True)
    with unit_of_work(open_session) as session:
        return receive_visitation(
            session,
            _ctx(),
            definition=DEFINITIONS["fagmentor"],
            citizen_ref=ref,
            channel="http",
            municipality="hedensted",
            **extra,
        )


def test_processing_twice_makes_one_enrollment(open_session: Any) -> None:
    key = _receive(open_session, identity=Identity(name="Canary Name", cpr="010203-4455"))
    assert key.startswith("vr-")
    with open_session() as session:
        first = process_visitation_request(session, _ctx(), key, definitions=DEFINITIONS)
        second = process_visitation_request(session, _ctx(), key, definitions=DEFINITIONS)
        assert first.status == "processed" and not first.already
        assert first.decision == "accepted" and first.enrollment_id is not None
        assert second.already and second.enrollment_id == first.enrollment_id
        assert len(session.exec(select(EnrollmentRow)).all()) == 1
        assert len(session.exec(select(VisitationRow)).all()) == 1
        identity = session.exec(select(CitizenIdentityRow)).one()
        assert identity.cpr == "010203-4455"


def test_concurrent_processing_makes_one_enrollment(open_session: Any) -> None:
    """Four workers process the same request at once (a barrier releases them together,
    each with its own session open): one enrollment, three see it done already."""
    key = _receive(open_session)
    outcomes: list[Any] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        with open_session() as session:
            barrier.wait()
            outcomes.append(
                process_visitation_request(session, _ctx(), key, definitions=DEFINITIONS)
            )

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 4
    assert sum(not o.already for o in outcomes) == 1
    assert len({o.enrollment_id for o in outcomes}) == 1
    with open_session() as session:
        assert len(session.exec(select(EnrollmentRow)).all()) == 1


def test_a_reject_reason_is_kept_in_one_place(open_session: Any) -> None:
    reason = "Kanarie: ønsker sprogskole først"
    key = _receive(open_session, accept=False, reject_reason=reason, answers={}, start=None)
    with open_session() as session:
        outcome = process_visitation_request(session, _ctx(), key, definitions=DEFINITIONS)
        assert outcome.decision == "rejected"
        [visitation] = session.exec(select(VisitationRow)).all()
        assert visitation.reason == reason
        request = session.exec(select(VisitationRequestRow)).one()
        assert request.reject_reason is None and request.visitation_id == visitation.id
        audits = session.exec(select(AuditRow)).all()
        assert audits and not any("Kanarie" in repr(a.details) for a in audits)


def test_engine_refusal_is_recorded_not_raised(open_session: Any) -> None:
    first = _receive(open_session)
    again = _receive(open_session)  # the same citizen into the same intervention
    with open_session() as session:
        assert process_visitation_request(session, _ctx(), first, definitions=DEFINITIONS)
        refused = process_visitation_request(session, _ctx(), again, definitions=DEFINITIONS)
        assert refused.status == "refused" and "already enrolled" in (refused.error or "")
        row = session.exec(
            select(VisitationRequestRow).where(VisitationRequestRow.key == again)
        ).one()
        assert row.status == "refused" and row.enrollment_id is None


def test_bad_input_is_refused_before_anything_is_stored(open_session: Any) -> None:
    with pytest.raises(InvalidInput):
        _receive(open_session, answers={"no_such_criterion": True})
    all_but_one = {c.id: True for c in DEFINITIONS["fagmentor"].eligibility}
    del all_but_one["moedestabilitet"]
    with pytest.raises(InvalidInput, match="not answered: moedestabilitet /"):
        _receive(open_session, answers=all_but_one)
    with pytest.raises(InvalidInput, match="looks like a CPR number"):
        _receive(open_session, ref="010190-1234")
    with pytest.raises(InvalidInput, match="start 9999-12-31 lies outside"):
        _receive(open_session, start=dt.date(9999, 12, 31))
    with open_session() as session:
        assert session.exec(select(VisitationRequestRow)).all() == []


def test_concurrent_first_visitations_of_a_definition_all_succeed(open_session: Any) -> None:
    """The first visitations of a definition race to store its definition_version row; the
    loser's transaction is rolled back whole and run again."""
    keys = [_receive(open_session, ref=f"B-72{n:02d}") for n in range(4)]
    outcomes: list[Any] = []
    barrier = threading.Barrier(len(keys))

    def work(key: str) -> None:
        with open_session() as session:
            barrier.wait()
            outcomes.append(
                process_visitation_request(session, _ctx(), key, definitions=DEFINITIONS)
            )

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.status for o in outcomes) == ["processed"] * 4
    with open_session() as session:
        assert len(session.exec(select(EnrollmentRow)).all()) == 4
