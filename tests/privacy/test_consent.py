"""Withdrawn consent stops health measurements at once, hides earlier health values from
reports, and is itself recorded; the engine refuses health data without consent."""

from __future__ import annotations

from typing import Any

import pytest
from report_world import PERIOD, seed
from sqlmodel import select

from iba_workflow.engine import record_consent
from iba_workflow.errors import ConsentMissing
from iba_workflow.reports import build_report
from iba_workflow.store.tables import AuditRow, ConsentRow, MeasurementRow


def _progress(session: Any) -> dict[str, list[Any]]:
    report = build_report(
        session,
        definition_id="sunde_kvinder",
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        threshold=3,
        made_on=PERIOD[1],
        charts=False,
    )
    return {str(r[0]): r[1:] for r in report.table("progression").rows}


def test_withdrawal_hides_earlier_health_values_and_is_recorded(open_session: Any) -> None:
    with open_session() as session:
        w = seed(session)
        before = _progress(session)
        assert before["Kropslige smerter"] == [7.0, 3, 5.3, 3, 4.0, 3]
        record_consent(session, w.ctx, citizen_ref="F3", given=False)
        session.commit()
        after = _progress(session)
        # F3's pain scores are gone; two women remain, too few to show
        assert after["Kropslige smerter"] == ["<3"] * 6
        assert after["Energi i hverdagen"] == before["Energi i hverdagen"]  # not health data
        assert len(session.exec(select(MeasurementRow)).all()) == 25  # hidden, not deleted
        latest = session.exec(select(ConsentRow).order_by(ConsentRow.id.desc())).first()  # type: ignore[union-attr]
        assert latest is not None and latest.given is False
        assert (
            session.exec(select(AuditRow).where(AuditRow.action == "consent_withdrawn"))
            .one()
            .citizen_id
            == latest.citizen_id
        )


def test_no_health_measurement_after_withdrawal(open_session: Any) -> None:
    with open_session() as session:
        w = seed(session)
        w.on(PERIOD[0].replace(month=9, day=1))
        record_consent(session, w.ctx, citizen_ref="E1", given=True)
        session.commit()
        record_consent(session, w.ctx, citizen_ref="E1", given=False)
        session.commit()
        with pytest.raises(ConsentMissing) as refused:
            w.complete("E1", "progressionsmaaling_start", data={"energi": 5, "smerter": 3})
        assert "consent" in refused.value.message
        session.rollback()
        with pytest.raises(ConsentMissing):
            w.complete("E1", "kostsamtale", 0, data={"vaegt": 80})
        session.rollback()
        w.complete("E1", "progressionsmaaling_start", data={"energi": 5})  # not health: fine
        stored = session.exec(
            select(MeasurementRow.dimension).where(
                MeasurementRow.enrollment_id == w.enrollments["E1"]
            )
        ).all()
        assert stored == ["energi"]
