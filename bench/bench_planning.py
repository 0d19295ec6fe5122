"""Plan 10,000 enrollments of the five shipped definitions (mixed: rolling intakes on
different start dates, cohorts by cohort), the pure planner only: no store.

    python bench/bench_planning.py [--rounds=3] [--quick] [--profile]

Goal (issue 15): < 2 s on a quiet 2-core machine. ``--profile`` prints a pyinstrument
profile of one round instead of timing it.
"""

from __future__ import annotations

import datetime as dt
import sys

from common import emit, median, quick, rounds_from_argv, summary, timed

from iba_workflow import paths
from iba_workflow.calendar import calendar_for
from iba_workflow.catalog import iter_definition_files
from iba_workflow.definition import load_definition
from iba_workflow.planning import plan_enrollment
from iba_workflow.planning.template import clear_calendar_memos

BENCH = "planning"
N = 1_000 if quick() else 10_000


def workload() -> list[tuple[object, object, dict[str, object]]]:
    """(definition, calendar, keyword arguments) for N enrollments, round robin."""
    jobs = []
    defs = []
    for path in iter_definition_files(paths.definitions_dir()):
        d = load_definition(path, known_templates=paths.known_templates())
        defs.append((d, calendar_for(d.municipality, paths.calendars_dir())))
    for n in range(N):
        d, cal = defs[n % len(defs)]
        if d.intake.kind == "cohort" and d.intake.cohorts:
            cohorts = d.intake.cohorts
            kwargs: dict[str, object] = {"cohort": cohorts[n % len(cohorts)].id}
        else:
            kwargs = {"start": dt.date(2027, 1, 4) + dt.timedelta(days=n % 365)}
        jobs.append((d, cal, kwargs))
    return jobs


def plan_all(jobs: list[tuple[object, object, dict[str, object]]]) -> int:
    steps = 0
    for d, cal, kwargs in jobs:
        steps += len(plan_enrollment(d, calendar=cal, **kwargs).steps)  # type: ignore[arg-type]
    return steps


def main() -> None:
    jobs = workload()
    plan_all(jobs[:50])  # warm the holiday caches
    if "--profile" in sys.argv:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            plan_all(jobs)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    walls, cpus = [], []
    steps = 0
    for r in range(rounds_from_argv(3)):
        # Each round starts cold: what the calendars remember (deadlines, recurring series)
        # is forgotten, then 50 plans warm the holiday caches again, untimed.
        clear_calendar_memos()
        plan_all(jobs[:50])
        wall, cpu, steps = timed(lambda: plan_all(jobs))
        walls.append(wall)
        cpus.append(cpu)
        emit(BENCH, round=r + 1, enrollments=N, steps=steps, wall_s=round(wall, 3),
             cpu_s=round(cpu, 3))  # fmt: skip
    wall = median(walls)
    emit(BENCH, result="median", enrollments=N, steps=steps, wall_s=round(wall, 3),
         cpu_s=round(median(cpus), 3), plans_per_s=round(N / wall), goal_s=2.0,
         goal_reached=wall < 2.0)  # fmt: skip
    summary(BENCH, f"{N} enrollments ({steps} steps) planned in {wall:.2f} s median "
            f"(CPU {median(cpus):.2f} s), {N / wall:.0f} plans/s; goal < 2 s")  # fmt: skip


if __name__ == "__main__":
    main()
