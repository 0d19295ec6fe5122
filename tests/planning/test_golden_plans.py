"""Golden plans: every definition from a start across Easter and one across Christmas/New
Year, plus one path through its branches in full, plus every outcome path in short (the
dated steps of each complete path from the Easter start), plus the branch path with a
two-week pause before the midway meeting (what moves, and where to). Reviewed like code;
regenerate
with ``IBA_UPDATE_GOLDEN=1 pytest tests/planning/test_golden_plans.py`` and read the diff."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from planhelp import DEFINITION_IDS, calendar, shipped, walk_with_pause

from iba_workflow.planning import ChosenOutcome, plan_enrollment
from iba_workflow.planning.explore import pause_window

GOLDEN = Path(__file__).parent.parent / "golden"
EASTER = dt.date(2027, 3, 1)  # Easter Sunday 2027 is 28 March
CHRISTMAS = dt.date(2026, 12, 7)
BRANCHES: dict[str, list[tuple[str, str]]] = {
    "fagmentor": [("evaluering", "forlaengelse"), ("evaluering@2", "loennede_timer")],
    "hop": [
        ("klar_til_praktik", "klar"),
        ("praktiksamtale", "udvalgt"),
        ("praktikvurdering", "ingen_loentimer"),
        ("slutevaluering", "forlaengelse"),
        ("slutevaluering@2", "ansaettelse"),
    ],
    "de_internationale": [
        ("optagelsesproeve", "optaget"),
        ("fastholdelse_vuc", "stoppet"),
        ("praktiksoegning_efter_vuc", "praktik_fundet"),
    ],
    "motion_sygemeldte": [("slutvurdering", "fortsat_sygemeldt"), ("slutvurdering_2", "raskmeldt")],
    "sunde_kvinder": [("afsluttende_evaluering", "klar_til_praktik")],
}
CASES = [
    (def_id, label, start, branches)
    for def_id in DEFINITION_IDS
    for label, start, branches in (
        ("easter", EASTER, []),
        ("christmas", CHRISTMAS, []),
        ("branches", EASTER, BRANCHES.get(def_id, [])),
    )
]


def test_every_definition_has_a_branch_path() -> None:
    assert set(BRANCHES) == set(DEFINITION_IDS)


@pytest.mark.parametrize(
    ("def_id", "label", "start", "branches"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_plan_matches_golden_file(
    def_id: str, label: str, start: dt.date, branches: list[tuple[str, str]]
) -> None:
    d = shipped(def_id)
    plan = plan_enrollment(
        d, calendar=calendar(d), start=start, outcomes=[ChosenOutcome(k, o) for k, o in branches]
    )
    data = plan.to_json()
    data["definition"].pop("content_hash")  # a new comment must not invalidate goldens
    text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / f"{def_id}__{label}.json"
    if os.environ.get("IBA_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path.name}: run with IBA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"plan differs from {path.name}; if intended, regenerate with IBA_UPDATE_GOLDEN=1 "
        "and review the diff"
    )
    if label == "branches":
        assert plan.ended_by is not None or not plan.open_branches


def _every_path(d, start: dt.date) -> list[list[ChosenOutcome]]:  # type: ignore[no-untyped-def]
    """Every complete choice sequence, without pruning (the goldens show each path)."""
    done: list[list[ChosenOutcome]] = []

    def walk(chosen: list[ChosenOutcome]) -> None:
        plan = plan_enrollment(d, calendar=calendar(d), start=start, outcomes=chosen)
        decided = {c.step_key for c in plan.chosen}
        nxt = next((s for s in plan.steps if s.outcomes and s.key not in decided), None)
        if nxt is None:
            done.append(chosen)
            return
        weeks = sum(p.weeks for p in plan.periods)
        limit = d.duration.extendable_to_weeks or 0
        for o in d.step(nxt.step_id).outcomes_list:
            if o.extend is None or weeks + o.extend.weeks <= limit:
                walk([*chosen, ChosenOutcome(nxt.key, o.id)])

    walk([])
    return done


@pytest.mark.parametrize("def_id", DEFINITION_IDS)
def test_every_outcome_path_matches_golden_file(def_id: str) -> None:
    d = shipped(def_id)
    paths = []
    for chosen in _every_path(d, EASTER):
        plan = plan_enrollment(d, calendar=calendar(d), start=EASTER, outcomes=chosen)
        assert plan.ended_by is not None, [f"{c.step_key}={c.outcome}" for c in chosen]
        paths.append(
            {
                "path": " → ".join(f"{c.step_key}={c.outcome}" for c in chosen),
                "end": plan.end.isoformat(),
                "steps": [
                    f"{s.date.isoformat()} {s.time.strftime('%H:%M') if s.time else '     '} "
                    f"{s.key}"
                    for s in plan.steps
                ],
                "skipped": [f"{k.date.isoformat()} {k.step_key}: {k.reason}" for k in plan.skipped],
            }
        )
    text = json.dumps(paths, indent=1, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{def_id}__every_path.json"
    if os.environ.get("IBA_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path.name}: run with IBA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"paths differ from {path.name}; if intended, regenerate with IBA_UPDATE_GOLDEN=1 "
        "and review the diff"
    )


@pytest.mark.parametrize("def_id", DEFINITION_IDS)
def test_a_pause_on_the_branch_path_matches_golden_file(def_id: str) -> None:
    d = shipped(def_id)
    window = pause_window(plan_enrollment(d, calendar=calendar(d), start=EASTER), "før midtvejs", 2)
    plain, held = walk_with_pause(d, EASTER, BRANCHES[def_id], window)
    before = {s.key: s.date for s in plain.steps}
    assert set(before) == {s.key for s in held.steps}  # a pause moves, it never drops
    data = {
        "pause": f"{window[0]}..{window[1]}",
        "path": " → ".join(f"{k}={o}" for k, o in BRANCHES[def_id]),
        "end": f"{plain.end} → {held.end}",
        "steps": [
            f"{s.date.isoformat()} {s.time.strftime('%H:%M') if s.time else '     '} {s.key}"
            + (f" (uden pause {before[s.key]})" if before[s.key] != s.date else "")
            for s in held.steps
        ],
    }
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{def_id}__pause.json"
    if os.environ.get("IBA_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path.name}: run with IBA_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"pause differs from {path.name}; if intended, regenerate with IBA_UPDATE_GOLDEN=1 "
        "and review the diff"
    )
