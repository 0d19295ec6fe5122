"""Every definition in definitions/ simulated end to end, on SQLite and PostgreSQL, with
every outcome of every decision taken at least once; then the record is checked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_helpers import DEFINITION_FILES, definition
from sqlmodel import select

from iba_workflow import paths
from iba_workflow.definition import Definition
from iba_workflow.engine import calendars_from
from iba_workflow.simulate import Simulation, SimulationScript
from iba_workflow.store import tables as t
from iba_workflow.timeline import timeline

START = dt.date(2027, 3, 1)


def _continue(step: Any) -> str:
    """An outcome that neither ends nor extends, so later decisions are reached."""
    for o in step.outcomes_list:
        if not o.ends and o.extend is None:
            return str(o.id)
    return str(step.outcomes_list[0].id)


def branch_scenarios(d: Definition) -> list[tuple[str, str, dict[str, str]]]:
    """(step, outcome, the outcomes to choose) for every outcome of every decision."""
    decisions = [s for s in d.steps if s.outcomes_list]
    found = []
    for s in decisions:
        for o in s.outcomes_list:
            choice = {x.id: _continue(x) for x in decisions}
            step: Any = s
            while step.only_after is not None:  # the branch the step lives on
                choice[step.only_after.step] = step.only_after.outcome
                step = d.step(step.only_after.step)
            choice[s.id] = o.id
            found.append((s.id, o.id, choice))
    return found


def _groups(d: Definition, scenarios: list[Any]) -> list[list[Any]]:
    size = d.capacity
    return [scenarios[i : i + size] for i in range(0, len(scenarios), size)]


@pytest.mark.parametrize("path", DEFINITION_FILES, ids=[p.stem for p in DEFINITION_FILES])
def test_every_outcome_branch_runs_to_the_end_and_is_recorded(path: Any, open_session: Any) -> None:
    d = definition(path)
    scenarios = branch_scenarios(d)
    assert scenarios, f"{d.id} has no decisions to simulate"
    calendars = calendars_from(paths.calendars_dir())
    for group_no, group in enumerate(_groups(d, scenarios)):
        script = SimulationScript(
            per_participant={n + 1: {"outcomes": choice} for n, (_, _, choice) in enumerate(group)}
        )
        sim = Simulation(
            open_session, d, calendars, START, script, len(group), prefix=f"SIM-g{group_no}"
        )
        sim.run()
        with open_session() as session:
            for n, (step_id, outcome_id, _choice) in enumerate(group, start=1):
                _check_participant(session, d, sim.ref(n), step_id, outcome_id)
            _check_outbox(session)


def _check_participant(
    session: Any, d: Definition, ref: str, step_id: str, outcome_id: str
) -> None:
    enrollment = session.exec(
        select(t.EnrollmentRow)
        .join(t.CitizenRow, t.CitizenRow.id == t.EnrollmentRow.citizen_id)
        .where(t.CitizenRow.ref == ref)
    ).one()
    where = f"{d.id} {ref} ({step_id}={outcome_id})"
    outcomes = {
        (o.step_key, o.outcome)
        for o in session.exec(
            select(t.OutcomeRow).where(t.OutcomeRow.enrollment_id == enrollment.id)
        )
    }
    assert (step_id, outcome_id) in outcomes, f"{where}: outcome not recorded: {outcomes}"
    steps = session.exec(
        select(t.StepInstanceRow).where(t.StepInstanceRow.enrollment_id == enrollment.id)
    ).all()
    by_key = {s.key: s for s in steps}
    assert enrollment.status in ("ended", "completed"), f"{where}: {enrollment.status}"
    assert not [s.key for s in steps if s.status in ("planned", "due", "notified")], where
    outcome = next(o for o in d.step(step_id).outcomes_list if o.id == outcome_id)
    if outcome.ends:
        assert enrollment.status == "ended"
        assert enrollment.ended_reason == f"{step_id}: {outcome_id}"
        decided = by_key[step_id].due_date
        assert all(s.status == "cancelled" for s in steps if s.due_date > decided), where
    stopped = {  # recurring steps an outcome stopped stay stopped in an extension
        sid
        for key, chosen in outcomes
        for o in d.step(key.split("@")[0]).outcomes_list
        if o.id == chosen
        for sid in o.stops
    }
    if outcome.extend is not None:
        own_days = {s.id for s in d.steps if s.own_days}  # no dates until her days are known
        for replanned in set(outcome.extend.replan) - stopped - own_days:
            again = [k for k in by_key if k.split("#")[0] == f"{replanned}@2"]
            assert again, f"{where}: {replanned} not planned again in the extension"
            assert all(by_key[k].period == 2 for k in again)
        for held_back in set(outcome.extend.replan) & stopped:
            assert not [k for k in by_key if k.split("#")[0] == f"{held_back}@2"], where
    for s in d.steps:
        if s.only_after is not None and (s.only_after.step, s.only_after.outcome) == (
            step_id,
            outcome_id,
        ):
            mine = [k for k in by_key if k.split("#")[0].split("@")[0] == s.id]
            assert mine, f"{where}: branch step {s.id} never planned"
            assert all(by_key[k].branch == f"{step_id}:{outcome_id}" for k in mine)
    done = [s for s in steps if s.status in ("completed", "skipped")]
    completions = session.exec(
        select(t.CompletionRow).where(
            t.CompletionRow.step_instance_id.in_([s.id for s in steps])  # type: ignore[attr-defined]
        )
    ).all()
    assert sorted(c.step_instance_id for c in completions) == sorted(s.id for s in done)
    sessions_done = [s for s in done if s.kind == "session"]
    attendance = session.exec(
        select(t.AttendanceRow).where(t.AttendanceRow.enrollment_id == enrollment.id)
    ).all()
    kind_of = {s.id: s.kind for s in steps}
    assert len([a for a in attendance if kind_of[a.step_instance_id] == "session"]) == len(
        sessions_done
    )
    # A weekly absence list writes a row per day of its week (engine/absence.py).
    lists_done = {s.id for s in done if s.kind == "attendance" and s.status == "completed"}
    from_lists = [a for a in attendance if kind_of[a.step_instance_id] == "attendance"]
    assert {a.step_instance_id for a in from_lists} == lists_done
    assert len(from_lists) >= len(lists_done)


def _check_outbox(session: Any) -> None:
    rows = session.exec(select(t.OutboxRow)).all()
    # every notification settled: sent, carried by a sent digest, or dropped as needless
    assert rows and all(r.status in ("sent", "folded", "dropped") for r in rows)
    by_id = {r.id: r for r in rows}
    assert all(by_id[r.carried_by].status == "sent" for r in rows if r.status == "folded")
    assert any(r.kind == "digest" and r.status == "sent" for r in rows)
    refs = [c.ref for c in session.exec(select(t.CitizenRow))]
    for r in rows:
        assert not any(ref in repr(r.payload) for ref in refs), "a citizen reference in a mail"
    new_tasks = {r.step_instance_id for r in rows if r.kind == "new_task"}
    notified = session.exec(select(t.StepInstanceRow).where(t.StepInstanceRow.id.in_(new_tasks)))  # type: ignore[attr-defined]
    assert all(s.status in ("completed", "cancelled", "skipped") for s in notified)


def test_fagmentor_extended_once_then_paid_hours_with_sick_leave(open_session: Any) -> None:
    """The issue's example: evaluering=forlaengelse, then evaluering@2=loennede_timer,
    with a week of sick leave and a late midway meeting on the way."""
    d = definition("fagmentor")
    script = SimulationScript.model_validate(
        {
            "outcomes": {"evaluering": "forlaengelse", "evaluering@2": "loennede_timer"},
            "pauses": [{"from": "2027-04-05", "to": "2027-04-09"}],
            "late": {"midtvejssamtale": 2},
        }
    )
    reference = Simulation(open_session, d, calendars_from(paths.calendars_dir()), START)
    reference.run()  # participant 1: on time, first outcome
    sim = Simulation(
        open_session, d, calendars_from(paths.calendars_dir()), START, script, prefix="SIM-sick"
    )
    sim.run()
    with open_session() as session:
        plain = _steps(session, reference.ref(1))
        sick = _steps(session, "SIM-sick-001")
        # the pause (5 working days, 2027-04-05..09) moved the midway meeting by a week
        assert plain["midtvejssamtale"].due_date == dt.date(2027, 4, 14)
        assert sick["midtvejssamtale"].due_date == dt.date(2027, 4, 21)
        assert sick["evaluering"].due_date == dt.date(2027, 6, 4)
        assert sick["evaluering@2"].status == "completed"
        assert plain["evaluering"].status == "completed" and "evaluering@2" not in plain
        assert {k for k in sick if k.startswith("midtvejssamtale")} == {
            "midtvejssamtale",
            "midtvejssamtale@2",
        }
        late = session.exec(
            select(t.CompletionRow).where(
                t.CompletionRow.step_instance_id == sick["midtvejssamtale"].id
            )
        ).one()
        assert late.completed_on == dt.date(2027, 4, 23)  # two working days late
        lines = [e.what for e in timeline(session) if e.participant == "SIM-sick-001"]
        assert "replanned pause: 10 moved" in lines or any(
            line.startswith("replanned pause") for line in lines
        )
        assert any("evaluering@2 → loennede_timer" in line for line in lines)


def test_a_pause_for_one_participant_moves_only_her_steps(open_session: Any) -> None:
    """A per-participant pause used to end in AttributeError: 'dict' object has no
    attribute 'first' (the merged script kept the pause as a plain dict)."""
    d = definition("fagmentor")
    script = SimulationScript.model_validate(
        {
            "outcomes": {"evaluering": "loennede_timer"},
            "per_participant": {2: {"pauses": [{"from": "2027-04-05", "to": "2027-04-09"}]}},
        }
    )
    assert script.for_participant(2).pauses[0].first == dt.date(2027, 4, 5)
    sim = Simulation(
        open_session,
        d,
        calendars_from(paths.calendars_dir()),
        START,
        script,
        participants=2,
        prefix="SIM-pp",
    )
    sim.run()
    with open_session() as session:
        well = _steps(session, "SIM-pp-001")
        sick = _steps(session, "SIM-pp-002")
        assert well["midtvejssamtale"].due_date == dt.date(2027, 4, 14)
        assert sick["midtvejssamtale"].due_date == dt.date(2027, 4, 21)
        assert sick["evaluering"].status == "completed"


def _steps(session: Any, ref: str) -> dict[str, t.StepInstanceRow]:
    rows = session.exec(
        select(t.StepInstanceRow)
        .join(t.EnrollmentRow, t.EnrollmentRow.id == t.StepInstanceRow.enrollment_id)
        .join(t.CitizenRow, t.CitizenRow.id == t.EnrollmentRow.citizen_id)
        .where(t.CitizenRow.ref == ref)
    ).all()
    return {r.key: r for r in rows}
