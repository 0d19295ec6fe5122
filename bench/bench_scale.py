"""One dispatcher tick on a large store: 100,000 enrollments (PostgreSQL by default,
``--sqlite`` for a SQLite file), and the plans of its hot queries.

    python bench/bench_scale.py [--enrollments=100000] [--base=200] [--sqlite] [--quick]
                                [--explain] [--profile[=first|later|both]]

The store is made by the product, then copied: ``BASE`` HOP enrollments are recorded by the
engine with start dates spread over the past 40 weeks (each at its own clock, two weeks
before its start), the steps that fell due more than a week ago are completed and each
gets the sent new-task row the dispatcher wrote for it (the outbox's history), then the
product's tick (``enqueue_due``, ``enqueue_digests``) brings the rest up to today. Those
rows (citizens, visitations, enrollments, their staff, steps, outbox) are copied with new
ids until there are ``--enrollments`` of them (one ``INSERT … SELECT`` per table), and the
store is analysed. Then, at the next morning's clock: the first tick of the day (steps
become due, reminders, escalations, digests: rows written), a claim of one batch, and a
later tick of the same day (nothing new), each timed. Goal (issue 15): a tick < 1 s.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import emit, pg_database, quick, roomy, summary
from sqlalchemy import Engine, event, text

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.dispatch import claim, enqueue_digests, enqueue_due
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    record_visitation,
    register_citizen,
)
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory, upgrade

KNOWN = paths.known_templates()
BENCH = "scale"
TODAY = dt.date(2027, 3, 1)  # a Monday
BASE = int(next((a[7:] for a in sys.argv if a.startswith("--base=")), 50 if quick() else 200))
SPREAD_DAYS = 280  # start dates over the past 40 weeks
#: what is copied, in order, and the columns that point at copied rows
TABLES = {
    "citizen": [],
    "visitation": ["citizen_id"],
    "enrollment": ["citizen_id", "visitation_id"],
    "enrollment_staff": ["enrollment_id"],
    "step_instance": ["enrollment_id"],
    "outbox": ["step_instance_id", "enrollment_id"],
}
SUFFIXED = {"citizen": "ref", "outbox": "message_id"}  # unique text columns


def _enrollments() -> int:
    for arg in sys.argv[1:]:
        if arg.startswith("--enrollments="):
            return int(arg.split("=", 1)[1])
    return 5_000 if quick() else 100_000


def _profiled(first: bool) -> bool:
    """``--profile`` (the later tick), ``--profile=first``, ``--profile=both``."""
    for arg in sys.argv[1:]:
        if arg == "--profile" or arg.startswith("--profile="):
            which = arg.partition("=")[2] or "later"
            return which == "both" or which == ("first" if first else "later")
    return False


@contextmanager
def store() -> Iterator[str]:
    if "--sqlite" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'iba.sqlite3'}"
    else:
        with pg_database("scale") as url:
            yield url


def at(day: dt.date, hour: int = 7, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=COPENHAGEN)


def seed_base(engine: Engine, settings: Settings) -> None:
    factory = session_factory(engine)
    d = roomy(load_definition(paths.definitions_dir() / "hop.yaml", known_templates=KNOWN))
    clock = FixedClock(at(TODAY - dt.timedelta(days=SPREAD_DAYS + 14)))
    ctx = EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))
    with factory() as s:
        for role in d.roles:
            add_staff(s, ctx, name=role.name, email=f"{role.id}@bench.invalid",
                      roles=[role.id], municipality=d.municipality)  # fmt: skip
        s.commit()
    for n in range(BASE):
        start = TODAY - dt.timedelta(days=SPREAD_DAYS * n // BASE)
        clock.set(at(start - dt.timedelta(days=14)))
        with factory() as s:
            register_citizen(s, ctx, ref=f"S-{n:06d}", municipality=d.municipality)
            record_visitation(s, ctx, citizen_ref=f"S-{n:06d}", definition=d, accept=True,
                              answers={c.id: True for c in d.eligibility}, start=start)  # fmt: skip
            s.commit()
    week_ago = TODAY - dt.timedelta(days=7)
    with engine.begin() as c:  # the work of the past: done, and announced once
        c.execute(
            text("UPDATE step_instance SET status = 'completed' WHERE due_date < :d"),
            {"d": week_ago},
        )
        c.execute(
            text(
                "INSERT INTO outbox (message_id, kind, recipient_staff_id, step_instance_id,"
                " enrollment_id, payload, status, attempts, next_attempt_at, created_at,"
                " sent_at) SELECT 'hist-' || CAST(s.id AS TEXT), 'new_task', "
                " (SELECT MIN(id) FROM staff), s.id, s.enrollment_id, '{}', 'sent', 1,"
                " s.updated_at, s.updated_at, s.updated_at"
                " FROM step_instance s WHERE s.status = 'completed' AND s.kind != 'session'"
            )
        )
    clock.set(at(TODAY - dt.timedelta(days=1), 8))  # yesterday's ticks: the rest is sent
    enqueue_due(factory, ctx, lead_days=settings.new_task_lead_days)
    enqueue_digests(factory, ctx, settings)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE outbox SET status = 'sent', sent_at = :now, attempts = 1"
                " WHERE status IN ('pending', 'held', 'new')"
            ),
            {"now": clock.now()},
        )


def copy_base(engine: Engine, copies: int) -> None:
    """``copies`` more of every base row, with new ids (id + k × the largest id)."""
    with engine.begin() as c:
        top = {t: c.execute(text(f"SELECT MAX(id) FROM {t}")).scalar() or 0 for t in TABLES}
        target = {"citizen_id": "citizen", "visitation_id": "visitation",
                  "enrollment_id": "enrollment", "step_instance_id": "step_instance"}  # fmt: skip
        for table, refs in TABLES.items():
            empty = c.execute(text(f"SELECT * FROM {table} LIMIT 0"))
            cols = list(empty.keys())
            exprs = []
            for col in cols:
                if col == "id":
                    exprs.append(f"id + k.n * {top[table]}")
                elif col in refs:
                    exprs.append(f"{col} + k.n * {top[target[col]]}")
                elif SUFFIXED.get(table) == col:
                    exprs.append(f"{col} || '-' || CAST(k.n AS TEXT)")
                else:
                    exprs.append(col)
            c.execute(
                text(
                    f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k"
                    f" WHERE n < {copies}) INSERT INTO {table} ({', '.join(cols)})"
                    f" SELECT {', '.join(exprs)} FROM {table}, k WHERE {table}.id <= {top[table]}"
                )
            )
        if c.dialect.name == "postgresql":
            for table in TABLES:
                c.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT MAX(id) FROM {table}))"
                    )
                )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE"))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        out = {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0 for t in TABLES}
        for status, n in c.execute(text("SELECT status, COUNT(*) FROM step_instance GROUP BY 1")):
            out[f"steps_{status}"] = n
        for status, n in c.execute(text("SELECT status, COUNT(*) FROM outbox GROUP BY 1")):
            out[f"outbox_{status}"] = n
    return out


def main() -> None:
    enrollments = _enrollments()
    settings = Settings(notify_default="digest", dispatch_batch_size=200)
    with store() as url:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        seed_base(engine, settings)
        copy_base(engine, max(enrollments // BASE - 1, 0))
        seeded = time.perf_counter() - t0
        sizes = counts(engine)
        emit(BENCH, backend=engine.dialect.name, seed_s=round(seeded, 1), **sizes)
        factory = session_factory(engine)
        clock = FixedClock(at(TODAY, 7, 30))
        ctx = EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))
        queries = 0

        def count(*_args: object) -> None:
            nonlocal queries
            queries += 1

        event.listen(engine, "before_cursor_execute", count)
        figures = {}
        # the later tick is the first after the day's writes (it meets their dead index
        # entries once); the one after it is every other tick of the day
        ticks = (("first tick of the day", 30), ("later tick", 31), ("the tick after", 32))
        for name, minute in ticks:
            clock.set(at(TODAY, 7, minute))
            queries = 0
            profiler = None
            if minute < 32 and _profiled(minute == 30):
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
            w, c0 = time.perf_counter(), time.process_time()
            due = enqueue_due(factory, ctx, lead_days=settings.new_task_lead_days)
            digests = enqueue_digests(factory, ctx, settings)
            ids = claim(factory, owner="bench", now=ctx.now(), limit=200, lease_seconds=300)
            wall, cpu = time.perf_counter() - w, time.process_time() - c0
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False), flush=True)
            figures[name] = wall
            emit(BENCH, tick=name, enrollments=enrollments, wall_s=round(wall, 3),
                 cpu_s=round(cpu, 3), queries=queries, became_due=due.became_due,
                 new_tasks=due.new_tasks, reminders=due.reminders,
                 escalations=due.escalations, digests=digests, claimed=len(ids))  # fmt: skip
        if "--explain" in sys.argv:
            explain(engine, ctx.now())
        engine.dispose()
    summary(BENCH, f"{enrollments} enrollments on {engine.dialect.name}: first tick of the day "
            f"{figures['first tick of the day']:.3f} s, a later tick {figures['later tick']:.3f} s "
            f"and the one after {figures['the tick after']:.3f} s (enqueue_due, enqueue_digests,"
            " one claim); goal < 1 s")  # fmt: skip


def explain(engine: Engine, now: dt.datetime) -> None:
    """The plans of the claim and the tick's three questions about open steps (PostgreSQL:
    EXPLAIN ANALYZE, SQLite: EXPLAIN QUERY PLAN), as the product sends them."""
    from iba_workflow.engine.recipients import RecipientBook
    from iba_workflow.store.outbox import claim_candidates
    from iba_workflow.store.queries import due_steps, escalations_due, reminders_due

    pg = engine.dialect.name == "postgresql"
    caught: list[tuple[str, Any]] = []

    def catch(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        caught.append((statement, params))

    factory = session_factory(engine)
    named: list[tuple[str, Any]] = []  # (name, (statement, params)), in order
    with factory() as s:
        addressees = RecipientBook(s, on=now.date()).addressees()
        for name, ask in (
            ("claim", lambda: s.execute(claim_candidates(now, 200, skip_locked=pg))),
            ("due_steps", lambda: due_steps(s, now.date(), lead_days=0)),
            ("reminders_due", lambda: reminders_due(s, now.date())),
            ("escalations_due", lambda: escalations_due(s, now.date(), unless_sent=addressees)),
        ):
            caught.clear()
            event.listen(engine, "before_cursor_execute", catch)
            ask()
            event.remove(engine, "before_cursor_execute", catch)
            named += [(f"{name} ({n + 1})" if n else name, c) for n, c in enumerate(caught)]
        s.rollback()
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
    for name, (statement, params) in named:
        with engine.connect() as c:
            raw = c.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            cursor.execute(prefix + statement, params)
            plan = [" ".join(str(x) for x in r) for r in cursor.fetchall()]
            c.rollback()
        print(f"--- {name}\n" + "\n".join(plan), flush=True)


if __name__ == "__main__":
    main()
