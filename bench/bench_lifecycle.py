"""Fagmentor lifecycles, every step completed in its own transaction, state on SQLite:
ours (the engine over the store) against SpiffWorkflow 3.x running the same lifecycle as
BPMN (bench/fagmentor.bpmn), side by side in one run. Fairness rules: bench/README.md.

    python bench/bench_lifecycle.py [--n=200] [--rounds=3] [--quick] [--profile] [--pg]

Per lifecycle, both sides: one transaction to start it (ours: the citizen and the
visitation; Spiff: a new workflow instance stored), then one transaction per completed
step (ours: ``complete_step``, which replans, audits and writes the outbox; Spiff: the user
task run, the engine steps after it, the whole workflow serialised and stored). Same
SQLite file settings on both sides (WAL with synchronous=NORMAL, busy timeout, foreign
keys: the product's ``make_engine`` pragmas, ``store.db.SQLITE_PRAGMAS``).
Goal (issue 15): ≥ 5× SpiffWorkflow in completed steps/s.

``--pg``: both sides on PostgreSQL instead (``IBA_BENCH_POSTGRES_URL``; a new database per
side per round, dropped after it; the server's settings as they come, the same for both:
a commit waits for its WAL flush on either side). Ours: the product's store; Spiff: the
same one table of serialised workflows, written back with psycopg in one transaction per
step. Goal (issue 15): ours on PostgreSQL ≥ ours on SQLite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, emit, median, pg, pg_database, quick, roomy, rounds_from_argv, summary

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.definition.model import MeasurementStep
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    complete_step,
    record_visitation,
    register_citizen,
)
from iba_workflow.store import make_engine, session_factory, upgrade
from iba_workflow.store.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS
from iba_workflow.store.rows import enrollment_steps, step_rows
from iba_workflow.store.tables import OPEN_STEP_STATUSES

KNOWN = paths.known_templates()
OPEN = enrollment_steps(
    "id", "key", "step_id", "kind", "due_date", "depends_on", statuses=OPEN_STEP_STATUSES
)
BENCH = "lifecycle"
BPMN = ROOT / "bench" / "fagmentor.bpmn"
STORE = "PostgreSQL" if pg() else "SQLite"
START = dt.date(2027, 3, 1)


def _n() -> int:
    for arg in sys.argv[1:]:
        if arg.startswith("--n="):
            return int(arg.split("=", 1)[1])
    return 20 if quick() else 200


# --------------------------------------------------------------------------- ours


class Ours:
    def __init__(self, folder: Path, pg_url: str | None = None) -> None:
        url = pg_url or f"sqlite:///{folder / 'ours.sqlite3'}"
        self.engine = make_engine(url)
        upgrade(self.engine)
        self.open = session_factory(self.engine)
        self.d = roomy(
            load_definition(paths.definitions_dir() / "fagmentor.yaml", known_templates=KNOWN)
        )
        self.clock = FixedClock(dt.datetime.combine(START, dt.time(8), tzinfo=COPENHAGEN))
        self.ctx = EngineContext(clock=self.clock, calendars=calendars_from(paths.calendars_dir()))
        with self.open() as s:
            for role in self.d.roles:
                add_staff(s, self.ctx, name=role.name, email=f"{role.id}@bench.invalid",
                          roles=[role.id], municipality=self.d.municipality)  # fmt: skip
            s.commit()
        self.transactions = 0

    def lifecycle(self, n: int) -> list[str]:
        """One citizen from visitation to the end; the keys of the completed steps."""
        self.clock.set(dt.datetime.combine(START, dt.time(8), tzinfo=COPENHAGEN))
        ref = f"L-{n:05d}"
        with self.open() as s:
            register_citizen(s, self.ctx, ref=ref, municipality=self.d.municipality)
            result = record_visitation(
                s, self.ctx, citizen_ref=ref, definition=self.d, accept=True,
                answers={c.id: True for c in self.d.eligibility}, start=START + dt.timedelta(14),
            )  # fmt: skip
            s.commit()
        self.transactions += 1
        done: list[str] = []
        while True:
            with self.open() as s:
                # the open steps as plain rows (the columns the driver reads): the peer
                # finds its ready task in memory, so this side's look-up is kept lean
                steps = step_rows(s, OPEN, result.enrollment_id)
                keys = {x.key for x in steps}
                ready = [x for x in steps if not keys.intersection(x.depends_on)]
                if not ready:
                    return done
                step = ready[0]
                at = dt.datetime.combine(step.due_date, dt.time(10), tzinfo=COPENHAGEN)
                if at > self.clock.now():
                    self.clock.set(at)
                complete_step(s, self.ctx, step_instance_id=step.id or 0, **self.answer(step))
                s.commit()
            self.transactions += 1
            done.append(step.key)

    def close(self) -> None:
        self.engine.dispose()

    def answer(self, step: Any) -> dict[str, Any]:
        spec = self.d.step(step.step_id)
        outcome = spec.outcomes_list[0].id if spec.outcomes_list else None
        data: dict[str, Any] = {}
        if isinstance(spec, MeasurementStep):
            data = {x.id: (x.scale.min + x.scale.max) / 2 for x in spec.dimensions if not x.health}
        elif step.kind == "session":
            data["present"] = "yes"
        return {"outcome": outcome, "data": data}


# --------------------------------------------------------------------------- SpiffWorkflow


class Spiff:
    def __init__(self, folder: Path, pg_url: str | None = None) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("fagmentor")
        self.serializer = BpmnWorkflowSerializer()
        self.db: Any
        if pg_url:  # psycopg, the driver the product's store uses
            import psycopg

            self.db = psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"))
            self.db.execute("CREATE TABLE workflow (id SERIAL PRIMARY KEY, ref TEXT, state TEXT)")
            self.param = "%s"
        else:
            self.db = sqlite3.connect(
                folder / "spiff.sqlite3", timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
            )
            for pragma in SQLITE_PRAGMAS:  # the product's, as make_engine sets them
                self.db.execute(f"PRAGMA {pragma}")
            self.db.execute("CREATE TABLE workflow (id INTEGER PRIMARY KEY, ref TEXT, state TEXT)")
            self.param = "?"
        self.db.commit()
        self.transactions = 0

    def lifecycle(self, n: int) -> list[str]:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        wf = BpmnWorkflow(self.spec)
        wf.do_engine_steps()
        p = self.param
        cur = self.db.execute(
            f"INSERT INTO workflow (ref, state) VALUES ({p}, {p})"
            + (" RETURNING id" if p == "%s" else ""),
            (f"L-{n:05d}", self.serializer.serialize_json(wf)),
        )
        row_id = cur.fetchone()[0] if p == "%s" else cur.lastrowid
        self.db.commit()
        self.transactions += 1
        done: list[str] = []
        while True:
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                return done
            task = ready[0]
            task.data["outcome"] = OUTCOMES.get(task.task_spec.name)
            task.run()
            wf.do_engine_steps()
            self.db.execute(
                f"UPDATE workflow SET state = {p} WHERE id = {p}",
                (self.serializer.serialize_json(wf), row_id),
            )
            self.db.commit()
            self.transactions += 1
            done.append(task.task_spec.bpmn_name or task.task_spec.name)

    def close(self) -> None:
        self.db.close()


OUTCOMES: dict[str, str] = json.loads(
    (ROOT / "bench" / "fagmentor.outcomes.json").read_text(encoding="utf-8")
) if (ROOT / "bench" / "fagmentor.outcomes.json").exists() else {}  # fmt: skip


def run_side(make: Any, n: int) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = stack.enter_context(pg_database("lifecycle")) if pg() else None
        side = make(Path(tmp), url)
        try:
            side.lifecycle(99_999)  # warm: imports, caches, the first plan
            side.transactions = 0
            wall, cpu = time.perf_counter(), time.process_time()
            steps = sum(len(side.lifecycle(k)) for k in range(n))
            return time.perf_counter() - wall, time.process_time() - cpu, steps, side.transactions
        finally:
            side.close()


def main() -> None:
    n = _n()
    if "--profile" in sys.argv:
        from pyinstrument import Profiler

        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            url = stack.enter_context(pg_database("lifecycle")) if pg() else None
            ours = Ours(Path(tmp), url)
            ours.lifecycle(99_999)
            with Profiler() as profiler:
                for k in range(min(n, 20)):
                    ours.lifecycle(k)
        print(profiler.output_text(unicode=True, color=False))
        return
    ratios, ours_rates, spiff_rates = [], [], []
    for r in range(rounds_from_argv(3)):
        results = {}
        for name, make in (("ours", Ours), ("spiffworkflow", Spiff)):  # alternating, one run
            wall, cpu, steps, txns = run_side(make, n)
            results[name] = (wall, cpu, steps, txns)
            emit(BENCH, round=r + 1, side=name, store=STORE, lifecycles=n, steps=steps,
                 transactions=txns,
                 wall_s=round(wall, 3), cpu_s=round(cpu, 3),
                 steps_per_s=round(steps / wall, 1),
                 steps_per_cpu_s=round(steps / cpu, 1))  # fmt: skip
        o, s = results["ours"], results["spiffworkflow"]
        ours_rates.append(o[2] / o[0])
        spiff_rates.append(s[2] / s[0])
        ratios.append((o[2] / o[0]) / (s[2] / s[0]))
    ratio = median(ratios)
    emit(BENCH, result="median", store=STORE, lifecycles=n,
         ours_steps_per_s=round(median(ours_rates), 1),
         spiff_steps_per_s=round(median(spiff_rates), 1), ratio=round(ratio, 2), goal_ratio=5,
         goal_reached=ratio >= 5)  # fmt: skip
    summary(BENCH, f"{n} Fagmentor lifecycles on {STORE}: ours {median(ours_rates):.1f} steps/s, "
            f"SpiffWorkflow {median(spiff_rates):.1f} user tasks/s, ratio {ratio:.2f} "
            f"(goal ≥ 5)")  # fmt: skip


if __name__ == "__main__":
    main()
