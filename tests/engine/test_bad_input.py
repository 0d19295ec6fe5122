"""Bad input gets a clear error and changes nothing: every row of every table is the
same after the refused operation as before it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_helpers import at, citizen, definition, snapshot, staff_for, yes_to_all
from sqlmodel import select

from iba_workflow.engine import (
    complete_step,
    record_consent,
    record_visitation,
    register_citizen,
    replan,
)
from iba_workflow.errors import (
    ConsentMissing,
    IbaError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PlanError,
)
from iba_workflow.store import tables as t


@pytest.fixture
def enrolled(session: Any, ctx: Any) -> int:
    """A Fagmentor enrollment starting 2027-03-01 (clock: 2027-02-15)."""
    d = definition("fagmentor")
    staff_for(session, ctx, d)
    citizen(session, ctx, "B-1")
    result = record_visitation(
        session,
        ctx,
        citizen_ref="B-1",
        definition=d,
        accept=True,
        answers=yes_to_all(d),
        start=dt.date(2027, 3, 1),
    )
    assert result.enrollment_id is not None
    return result.enrollment_id


def _step(session: Any, enrollment_id: int, key: str) -> t.StepInstanceRow:
    return session.exec(
        select(t.StepInstanceRow).where(
            t.StepInstanceRow.enrollment_id == enrollment_id, t.StepInstanceRow.key == key
        )
    ).one()


def _refused(session: Any, error: type[IbaError], match: str, action: Any) -> IbaError:
    session.commit()  # the test is the caller: what it did so far is one unit of work
    before = snapshot(session)
    with pytest.raises(error, match=match) as caught:
        action()
    session.rollback()
    assert snapshot(session) == before, "a refused operation changed the record"
    return caught.value


def test_unknown_citizen(session: Any, ctx: Any, enrolled: int) -> None:
    exc = _refused(
        session,
        NotFound,
        "no citizen with reference 'B-404'",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-404",
            definition=definition("fagmentor"),
            accept=True,
            answers=yes_to_all(definition("fagmentor")),
        ),
    )
    assert exc.hint and "iba citizen add" in exc.hint


def test_completing_a_cancelled_step(session: Any, ctx: Any, clock: Any, enrolled: int) -> None:
    replan(session, ctx, enrollment_id=enrolled, exit_on=dt.date(2027, 4, 1))
    cancelled = _step(session, enrolled, "evaluering")
    assert cancelled.status == "cancelled"
    _refused(
        session,
        InvalidTransition,
        "'evaluering' is cancelled",
        lambda: complete_step(session, ctx, step_instance_id=cancelled.id, outcome="forlaengelse"),
    )


def test_an_outcome_the_definition_does_not_have(
    session: Any, ctx: Any, clock: Any, enrolled: int
) -> None:
    _complete_until(session, ctx, clock, enrolled, "evaluering")
    step = _step(session, enrolled, "evaluering")
    exc = _refused(
        session,
        InvalidInput,
        "'evaluering' has no outcome 'fastansat'",
        lambda: complete_step(session, ctx, step_instance_id=step.id, outcome="fastansat"),
    )
    assert exc.hint == "outcomes: loennede_timer, forlaengelse, anden_aktivitet"


def test_a_decision_without_an_outcome(session: Any, ctx: Any, clock: Any, enrolled: int) -> None:
    _complete_until(session, ctx, clock, enrolled, "evaluering")
    step = _step(session, enrolled, "evaluering")
    _refused(
        session,
        InvalidInput,
        "needs an outcome",
        lambda: complete_step(session, ctx, step_instance_id=step.id),
    )


def test_a_pause_that_ends_before_it_starts(session: Any, ctx: Any, enrolled: int) -> None:
    _refused(
        session,
        InvalidInput,
        r"the pause ends \(2027-04-01\) before it starts \(2027-04-10\)",
        lambda: replan(
            session,
            ctx,
            enrollment_id=enrolled,
            pause=(dt.date(2027, 4, 10), dt.date(2027, 4, 1)),
        ),
    )


def test_an_extension_past_the_longest_course(session: Any, ctx: Any, enrolled: int) -> None:
    _refused(
        session,
        InvalidInput,
        "at most 26 weeks",
        lambda: replan(session, ctx, enrollment_id=enrolled, extend_weeks=14),
    )


def test_unknown_step_and_enrollment(session: Any, ctx: Any, enrolled: int) -> None:
    _refused(
        session,
        NotFound,
        "no step 999999",
        lambda: complete_step(session, ctx, step_instance_id=999999),
    )
    _refused(
        session,
        NotFound,
        "no enrollment 999999",
        lambda: replan(session, ctx, enrollment_id=999999, extend_weeks=1),
    )


def test_a_step_whose_dependency_is_open(session: Any, ctx: Any, enrolled: int) -> None:
    meeting = _step(session, enrolled, "opstartsmoede")
    _refused(
        session,
        InvalidTransition,
        "waits for rekruttering",
        lambda: complete_step(session, ctx, step_instance_id=meeting.id),
    )


def test_a_second_enrollment_in_the_same_intervention(
    session: Any, ctx: Any, enrolled: int
) -> None:
    _refused(
        session,
        InvalidTransition,
        "already enrolled",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-1",
            definition=definition("fagmentor"),
            accept=True,
            answers=yes_to_all(definition("fagmentor")),
        ),
    )


def test_accepting_when_a_required_criterion_is_not_met(session: Any, ctx: Any) -> None:
    citizen(session, ctx, "B-2")
    _refused(
        session,
        InvalidInput,
        "required criteria not met: moedestabilitet",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-2",
            definition=definition("fagmentor"),
            accept=True,
            answers={
                "integrationsperiode_praktik": True,
                "opkvalificering_gennemfoert": True,
                "moedestabilitet": False,
                "virksomhed_oensker_mentor": True,
            },
        ),
    )


def test_accepting_without_answering_every_criterion(session: Any, ctx: Any) -> None:
    """An accepted visitation answers every criterion; the refusal names the missing ones
    (the CLI, the API and the Prefect door all end here)."""
    citizen(session, ctx, "B-2")
    exc = _refused(
        session,
        InvalidInput,
        "not answered: moedestabilitet, virksomhed_oensker_mentor",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-2",
            definition=definition("fagmentor"),
            accept=True,
            answers={"integrationsperiode_praktik": True, "opkvalificering_gennemfoert": True},
        ),
    )
    assert exc.context["missing"] == ["moedestabilitet", "virksomhed_oensker_mentor"]
    _refused(
        session,
        InvalidInput,
        "not answered: integrationsperiode_praktik, opkvalificering_gennemfoert, moedestabilitet",
        lambda: record_visitation(
            session, ctx, citizen_ref="B-2", definition=definition("fagmentor"), accept=True
        ),
    )


@pytest.mark.parametrize(
    "ref", ["0101901234", "010190-1234", "B-0101901234", "x010190 1234y", "borger2912874417"]
)
def test_a_cpr_shaped_reference_is_refused(session: Any, ctx: Any, ref: str) -> None:
    exc = _refused(
        session,
        InvalidInput,
        "citizen_ref looks like a CPR number",
        lambda: register_citizen(session, ctx, ref=ref, municipality="hedensted"),
    )
    assert exc.hint and "reference" in exc.hint
    _refused(
        session,
        InvalidInput,
        "looks like a CPR number",
        lambda: record_visitation(
            session, ctx, citizen_ref=ref, definition=definition("fagmentor"), accept=True
        ),
    )


def test_cpr_shaped_free_text_is_refused(session: Any, ctx: Any, enrolled: int) -> None:
    citizen(session, ctx, "B-2")
    _refused(
        session,
        InvalidInput,
        "reject_reason contains a number that looks like a CPR number",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-2",
            definition=definition("fagmentor"),
            accept=False,
            reject_reason="borgeren (010190-1234) ønsker ikke",
        ),
    )
    step = _step(session, enrolled, "opstartsmoede")
    _refused(
        session,
        InvalidInput,
        "data.note contains a number",
        lambda: complete_step(
            session, ctx, step_instance_id=step.id, data={"note": "ring 0101901234"}
        ),
    )


@pytest.mark.parametrize(
    "change",
    [
        {"new_start": dt.date(9999, 12, 31)},
        {"exit_on": dt.date(1900, 1, 1)},
        {"pause": (dt.date(2027, 4, 1), dt.date(9999, 12, 31))},
    ],
)
def test_dates_outside_the_window_are_refused(
    session: Any, ctx: Any, enrolled: int, change: dict[str, Any]
) -> None:
    _refused(
        session,
        InvalidInput,
        "lies outside 2026-02-15..2029-02-14",
        lambda: replan(session, ctx, enrollment_id=enrolled, **change),
    )


def test_a_start_outside_the_window_is_refused(session: Any, ctx: Any) -> None:
    d = definition("fagmentor")
    citizen(session, ctx, "B-2")
    _refused(
        session,
        InvalidInput,
        "start 9999-12-31 lies outside",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-2",
            definition=d,
            accept=True,
            answers=yes_to_all(d),
            start=dt.date(9999, 12, 31),
        ),
    )


def test_a_planner_refusal_changes_nothing(
    session: Any, ctx: Any, clock: Any, enrolled: int
) -> None:
    """Extending by hand to 25 weeks leaves no room for the 4-week extension outcome."""
    replan(session, ctx, enrollment_id=enrolled, extend_weeks=12)
    _complete_until(session, ctx, clock, enrolled, "evaluering")
    step = _step(session, enrolled, "evaluering")
    _refused(
        session,
        PlanError,
        "more than the 26 weeks",
        lambda: complete_step(session, ctx, step_instance_id=step.id, outcome="forlaengelse"),
    )


def test_health_data_needs_consent(session: Any, ctx: Any, clock: Any) -> None:
    d = definition("sunde_kvinder")
    cohort = d.intake.cohorts[0]
    clock.set(at(cohort.start - dt.timedelta(days=21)))
    staff_for(session, ctx, d)
    citizen(session, ctx, "B-3")
    health = [c.id for c in d.eligibility if c.health]
    _refused(
        session,
        ConsentMissing,
        "health data",
        lambda: record_visitation(
            session,
            ctx,
            citizen_ref="B-3",
            definition=d,
            accept=True,
            cohort=cohort.id,
            answers=dict.fromkeys(health, True),
        ),
    )
    result = record_visitation(
        session,
        ctx,
        citizen_ref="B-3",
        definition=d,
        accept=True,
        answers=yes_to_all(d),
        cohort=cohort.id,
    )
    weighing = next(s for s in d.steps if s.kind == "measurement" and s.requires_consent)
    dim = next(x for x in weighing.dimensions if x.health)
    value = (dim.scale.min + dim.scale.max) / 2
    row = session.exec(
        select(t.StepInstanceRow)
        .where(
            t.StepInstanceRow.enrollment_id == result.enrollment_id,
            t.StepInstanceRow.step_id == weighing.id,
        )
        .order_by(t.StepInstanceRow.due_date)
    ).first()
    clock.set(at(row.due_date))
    _open_dependencies_done(session, ctx, row)
    _refused(
        session,
        ConsentMissing,
        "consent",
        lambda: complete_step(session, ctx, step_instance_id=row.id, data={dim.id: value}),
    )
    record_consent(session, ctx, citizen_ref="B-3", given=True)
    complete_step(session, ctx, step_instance_id=row.id, data={dim.id: value})
    measured = session.exec(
        select(t.MeasurementRow).where(t.MeasurementRow.dimension == dim.id)
    ).one()
    assert measured.health and measured.value == value


def _open_dependencies_done(session: Any, ctx: Any, row: t.StepInstanceRow) -> None:
    for key in row.depends_on:
        dep = _step(session, row.enrollment_id, key)
        if dep.status in ("planned", "due", "notified"):
            _open_dependencies_done(session, ctx, dep)
            complete_step(session, ctx, step_instance_id=dep.id, **_answer(session, dep))


def _answer(session: Any, row: t.StepInstanceRow) -> dict[str, Any]:
    e = session.get(t.EnrollmentRow, row.enrollment_id)
    step = definition(e.definition_id).step(row.step_id)
    return {"outcome": step.outcomes_list[0].id} if step.outcomes_list else {}


def _complete_until(session: Any, ctx: Any, clock: Any, enrollment_id: int, key: str) -> None:
    """Complete every open step dated before ``key`` (and its dependencies), on time."""
    target = _step(session, enrollment_id, key)
    for row in session.exec(
        select(t.StepInstanceRow)
        .where(
            t.StepInstanceRow.enrollment_id == enrollment_id,
            t.StepInstanceRow.due_date < target.due_date,
            t.StepInstanceRow.status.in_(("planned", "due", "notified")),
        )  # type: ignore[attr-defined]
        .order_by(t.StepInstanceRow.due_date, t.StepInstanceRow.id)
    ).all():
        clock.set(at(row.due_date))
        if row.status in ("planned", "due", "notified"):
            _open_dependencies_done(session, ctx, row)
            complete_step(session, ctx, step_instance_id=row.id, **_answer(session, row))
    clock.set(at(target.due_date))
    _open_dependencies_done(session, ctx, target)
