"""The weekly digest with 1,000 active enrollments: the first tick of the week (the
digests are written) and every later tick of the same week (nothing to write).

    python bench/bench_digest.py [--quick] [--ticks=10]

Goal (issue 15): one query per kind of row, once a week — a later tick of the week should
cost next to nothing.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from common import emit, median, quick, roomy, summary
from sqlalchemy import event

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.dispatch import enqueue_digests
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    record_visitation,
    register_citizen,
)
from iba_workflow.store import make_engine, session_factory, upgrade

KNOWN = paths.known_templates()
BENCH = "digest"
ENROLLMENTS = 100 if quick() else 1_000
MONDAY = dt.date(2027, 3, 1)


def _ticks() -> int:
    for arg in sys.argv[1:]:
        if arg.startswith("--ticks="):
            return int(arg.split("=", 1)[1])
    return 10


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'iba.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        factory = session_factory(engine)
        d = roomy(load_definition(paths.definitions_dir() / "hop.yaml", known_templates=KNOWN))
        before = dt.datetime.combine(MONDAY - dt.timedelta(days=28), dt.time(9), tzinfo=COPENHAGEN)
        clock = FixedClock(before)
        ctx = EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))
        with factory() as s:
            for role in d.roles:
                add_staff(s, ctx, name=role.name, email=f"{role.id}@bench.invalid",
                          roles=[role.id], municipality=d.municipality)  # fmt: skip
            s.commit()
        for n in range(ENROLLMENTS):
            with factory() as s:
                ref = f"W-{n:05d}"
                register_citizen(s, ctx, ref=ref, municipality=d.municipality)
                record_visitation(s, ctx, citizen_ref=ref, definition=d, accept=True,
                                  answers={c.id: True for c in d.eligibility},
                                  start=MONDAY - dt.timedelta(days=14))  # fmt: skip
                s.commit()
        queries = 0

        def count(*_args: object) -> None:
            nonlocal queries
            queries += 1

        event.listen(engine, "before_cursor_execute", count)
        clock.set(dt.datetime.combine(MONDAY, dt.time(8, 5), tzinfo=COPENHAGEN))
        queries = 0
        t0 = time.perf_counter()
        written = enqueue_digests(factory, ctx)
        first = time.perf_counter() - t0
        first_queries = queries
        later, later_queries = [], []
        for k in range(_ticks()):
            clock.set(dt.datetime.combine(MONDAY, dt.time(8, 6 + k), tzinfo=COPENHAGEN))
            queries = 0
            t0 = time.perf_counter()
            assert enqueue_digests(factory, ctx) == 0
            later.append(time.perf_counter() - t0)
            later_queries.append(queries)
        engine.dispose()
    emit(BENCH, tick="first of the week", enrollments=ENROLLMENTS, digests=written,
         seconds=round(first, 4), queries=first_queries)  # fmt: skip
    emit(BENCH, tick="later in the week", enrollments=ENROLLMENTS,
         median_seconds=round(median(later), 4), queries=max(later_queries))  # fmt: skip
    summary(BENCH, f"{ENROLLMENTS} active enrollments: first tick of the week {first:.3f} s "
            f"({first_queries} queries, {written} digests); every later tick "
            f"{median(later):.3f} s ({max(later_queries)} queries)")  # fmt: skip


if __name__ == "__main__":
    main()
