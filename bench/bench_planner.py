"""How fast are loading and planning? Run on demand: ``python bench/bench_planner.py``.

Reports per-definition medians measured in one run, and ratios between them (absolute
times on shared 2-core machines vary; the ratios are what to compare between versions).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import load_definition
from iba_workflow.planning import plan_enrollment

ROUNDS = 30


def _median(fn) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    rows = []
    for path in iter_definition_files(paths.definitions_dir()):
        d = load_definition(path)
        cal = calendar_for(d.municipality, paths.calendars_dir())
        cal.is_working_day(dt.date(2027, 1, 1))  # warm the holiday cache
        load_s = _median(lambda p=path: load_definition(p))
        plan = plan_enrollment(d, calendar=cal, start=dt.date(2027, 3, 1))
        plan_s = _median(
            lambda d=d, cal=cal: plan_enrollment(d, calendar=cal, start=dt.date(2027, 3, 1))
        )
        rows.append((d.id, len(plan.steps), load_s, plan_s))
    base = min(r[3] / r[1] for r in rows)
    print(
        f"{'definition':<20}{'steps':>6}{'load ms':>10}{'plan ms':>10}{'µs/step':>10}{'×best':>7}"
    )
    for def_id, steps, load_s, plan_s in rows:
        per_step = plan_s / steps
        print(
            f"{def_id:<20}{steps:>6}{load_s * 1e3:>10.2f}{plan_s * 1e3:>10.2f}"
            f"{per_step * 1e6:>10.1f}{per_step / base:>7.2f}"
        )
    total = sum(r[3] for r in rows)
    print(f"all five plans: {total * 1e3:.1f} ms → {len(rows) / total:.0f} plans/s on this machine")


if __name__ == "__main__":
    main()
