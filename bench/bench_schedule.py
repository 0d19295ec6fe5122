"""How fast is the week-schedule solver? Run on demand: ``python bench/bench_schedule.py``
(``--groups 20`` for the full run; ``--rounds N`` for the one-group median).

One HOP group of 15 (language school on 5 day patterns, rolling intake, an IBA and a role
model; the shipped week: ``schedules/hop.yaml`` and the definition's group steps) for 13
weeks, solved ``rounds`` times; then ``groups`` such groups, each with its own staff,
solved one after the other. Prints one JSON line per measurement and a one-line summary. The
solver is deterministic (one worker, fixed seed), so every round does the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "schedule"))

from hop_group import WEEKS, hop_group  # noqa: E402

from iba_workflow import paths  # noqa: E402
from iba_workflow.calendar import calendar_for  # noqa: E402
from iba_workflow.schedule.solver import solve  # noqa: E402

TARGET_ONE_GROUP_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--groups", type=int, default=20)
    args = parser.parse_args()
    cal = calendar_for("hedensted", paths.calendars_dir())
    solve(hop_group(weeks=1), cal)  # import and warm up OR-Tools once

    samples = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        solution = solve(hop_group(), cal)
        samples.append(time.perf_counter() - t0)
    one = statistics.median(samples)
    short = sum(1 for h in solution.hours if h.reason)
    print(
        json.dumps(
            {
                "bench": "hop_group_13_weeks",
                "participants": 15,
                "weeks": WEEKS,
                "median_s": round(one, 3),
                "samples_s": [round(s, 3) for s in samples],
                "status": sorted(set(solution.status.values())),
                "placements": len(solution.placements),
                "short_weeks": short,
            }
        )
    )

    t0 = time.perf_counter()
    per_group = []
    for g in range(args.groups):
        t1 = time.perf_counter()
        solve(hop_group(group=f"hop-{g}", prefix=f"G{g:02d}-"), cal)
        per_group.append(time.perf_counter() - t1)
    total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "bench": "hop_groups_13_weeks",
                "groups": args.groups,
                "total_s": round(total, 2),
                "per_group_median_s": round(statistics.median(per_group), 3),
                "per_group_max_s": round(max(per_group), 3),
            }
        )
    )
    load = os.getloadavg()[0]
    verdict = "met" if one < TARGET_ONE_GROUP_S else "NOT met"
    print(
        f"schedule: one HOP group, 13 weeks: {one:.2f} s (target < {TARGET_ONE_GROUP_S:.0f} s: "
        f"{verdict}); {args.groups} groups: {total:.1f} s; load average {load:.1f} on "
        f"{os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
