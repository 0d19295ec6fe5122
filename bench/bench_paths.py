"""How does the every-path validator grow with the number of outcomes?

Run on demand: ``python bench/bench_paths.py``. Synthetic definitions with N decisions in a
row (one evaluation a week), each with two outcomes, in two shapes:

- ``same``: both outcomes change nothing in the plan (as many real "continues in the
  course" outcomes do): identical states are pruned, so the walk is linear in N;
- ``branching``: one outcome adds a step of its own branch: every path is a different plan,
  so 2^N paths are walked — the worst case, and the reason for the pruning.

Every walk is made once without a pause and once per standard pause (1 and 2 weeks, before
the midway meeting and in the last week), as ``iba validate`` walks. Then the shipped
definitions, as ``iba validate definitions/`` walks them. Prints one JSON line per
measurement and a one-line summary.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from iba_workflow import paths
from iba_workflow.calendar import WorkingCalendar, calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import load_definition, parse_definition
from iba_workflow.planning.explore import explore_definition

START = [("påske", dt.date(2027, 3, 1))]
HEAD = """\
id: bench
name: Bench
version: 1
municipality: hedensted
description: Synthetic decisions.
seed: x.txt
hours_per_week: 1
duration: {weeks: 30}
capacity: 1
intake: {kind: rolling}
roles: [{id: iba, name: IBA}]
steps:
"""


def synthetic(n: int, *, branching: bool) -> str:
    steps = []
    for i in range(n):
        steps.append(
            f"  - {{id: e{i}, kind: evaluation, name: E{i}, assignee: iba,"
            f" when: {{anchor: start, offset: {{working_days: {2 * i + 2}}}}},"
            f" outcomes: [{{id: ja, name: Ja}}, {{id: nej, name: Nej}}]}}\n"
        )
        if branching:
            steps.append(
                f"  - {{id: b{i}, kind: task, name: B{i}, assignee: iba,"
                f" only_after: {{step: e{i}, outcome: ja}},"
                f" when: {{anchor: completion.e{i}, offset: {{days: 1}}}}}}\n"
            )
    steps.append(
        "  - {id: slut, kind: evaluation, name: Slut, assignee: iba, when: {anchor: end},"
        " outcomes: [{id: slut, name: Slut, ends: true}]}\n"
    )
    return HEAD + "".join(steps)


def measure(label: str, text: str, n: int) -> dict[str, object]:
    d = parse_definition(text)
    began = time.perf_counter()
    result = explore_definition(d, WorkingCalendar(municipality="hedensted"), starts=START)
    seconds = time.perf_counter() - began
    assert not result.findings, result.findings[:2]
    row = {
        "shape": label,
        "decisions": n,
        "paths": result.paths,
        "plans": result.plans,
        "pruned": result.pruned,
        "seconds": round(seconds, 3),
        "ms_per_plan": round(1000 * seconds / max(result.plans, 1), 2),
    }
    print(json.dumps(row))
    return row


def main() -> None:
    rows = []
    for n in (2, 4, 8, 16, 32):
        rows.append(measure("same", synthetic(n, branching=False), n))
    for n in (2, 4, 6, 8, 10):
        rows.append(measure("branching", synthetic(n, branching=True), n))
    shipped_s = 0.0
    shipped_plans = shipped_paths = 0
    for path in iter_definition_files(paths.definitions_dir()):
        d = load_definition(path)
        cal = calendar_for(d.municipality, paths.calendars_dir())
        began = time.perf_counter()
        result = explore_definition(d, cal)
        seconds = time.perf_counter() - began
        shipped_s += seconds
        shipped_plans += result.plans
        shipped_paths += result.paths
        print(
            json.dumps(
                {
                    "shape": "shipped",
                    "definition": d.id,
                    "starts": result.starts,
                    "pauses": result.pauses,
                    "paths": result.paths,
                    "plans": result.plans,
                    "pruned": result.pruned,
                    "seconds": round(seconds, 3),
                }
            )
        )
    same32 = next(r for r in rows if r["shape"] == "same" and r["decisions"] == 32)
    br10 = next(r for r in rows if r["shape"] == "branching" and r["decisions"] == 10)
    print(
        f"summary: 32 decisions whose outcomes meet again: {same32['plans']} plans "
        f"({same32['paths']} paths) in {same32['seconds']} s; 10 branching decisions: "
        f"{br10['plans']} plans in {br10['seconds']} s; shipped definitions: "
        f"{shipped_paths} paths, {shipped_plans} plans in {shipped_s:.1f} s"
    )


if __name__ == "__main__":
    main()
