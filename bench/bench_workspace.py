"""How fast are the workspace's pages with 5,000 enrollments in the store? Run on demand:
``python bench/bench_workspace.py [--enrollments 5000] [--rounds 40]``.

Builds a SQLite store: HOP staff in Hedensted (the IBA coordinates HOP), one enrollment
made by the engine, then 5,000 copies of it (steps included) with starts spread over 20
weeks (steps more than three days past are marked completed, the rest stay open), so
Min uge has overdue, this week's and next week's tasks. Then renders Min uge,
the enrollment list (Forløb, first page) and one enrollment through the whole app (ASGI,
session cookie, policy, templates) and prints one JSON line per page and a summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    record_visitation,
    register_citizen,
)
from iba_workflow.identity.sessions import cookie_name, start_session
from iba_workflow.identity.staff import add_coordinates
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory
from iba_workflow.store.db import upgrade
from iba_workflow.store.tables import CitizenRow, EnrollmentRow, StepInstanceRow
from iba_workflow.store.work import unit_of_work
from iba_workflow.web import create_app

TODAY = dt.date(2027, 6, 7)  # a Monday


def build(folder: Path, n: int) -> tuple[Settings, FixedClock, int, int]:
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = FixedClock(dt.datetime.combine(TODAY - dt.timedelta(days=30), dt.time(8), COPENHAGEN))
    ctx = EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))
    hop = paths.definitions_dir() / "hop.yaml"
    d = load_definition(hop, known_templates=paths.known_templates())
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        staff = {}
        for role in d.roles:
            row = add_staff(s, ctx, name=f"{role.name} Bench", email=f"{role.id}@bench.test",
                            roles=[role.id], municipality=d.municipality)  # fmt: skip
            staff[role.id] = row.id or 0
        add_coordinates(s, staff["iba"], [d.id], now=clock.now(), actor="bench")
        register_citizen(s, ctx, ref="B-00000", municipality=d.municipality, name="Bench Borger")
        first = record_visitation(
            s, ctx, citizen_ref="B-00000", definition=d, accept=True,
            answers={c.id: True for c in d.eligibility}, start=TODAY - dt.timedelta(days=21),
        )  # fmt: skip
    with unit_of_work(factory) as s:
        template = s.get(EnrollmentRow, first.enrollment_id)
        assert template is not None
        steps = [r.model_dump() for r in s.exec(
            select(StepInstanceRow).where(StepInstanceRow.enrollment_id == template.id)
        ).scalars()]  # fmt: skip
        base = template.model_dump()
        conn = s.connection()
        for i in range(1, n):
            shift = dt.timedelta(weeks=(i % 20) - 10)
            cid = conn.execute(insert(CitizenRow).values(
                ref=f"B-{i:05d}", municipality=d.municipality, created_at=clock.now()
            )).inserted_primary_key[0]  # fmt: skip
            e = {**base, "id": None, "citizen_id": cid, "start": base["start"] + shift,
                 "visitation_on": base["visitation_on"] + shift}  # fmt: skip
            e.pop("id")
            eid = conn.execute(insert(EnrollmentRow).values(**e)).inserted_primary_key[0]
            rows = []
            for st in steps:
                due = st["due_date"] + shift
                done = due < TODAY - dt.timedelta(days=3)  # the past is done, but the last days
                status = "completed" if done else st["status"]
                r = {**st, "enrollment_id": eid, "due_date": due, "remind_from": None,
                     "escalation_date": None, "status": status}  # fmt: skip
                r.pop("id")
                rows.append(r)
            conn.execute(insert(StepInstanceRow), rows)
        clock.set(dt.datetime.combine(TODAY, dt.time(8), COPENHAGEN))
        sid = start_session(s, staff_id=staff["iba"], now=clock.now(),
                            settings=Settings(database_url=url, data_dir=folder))  # fmt: skip
    settings = Settings(database_url=url, data_dir=folder, secret_key=SecretStr("b" * 32))
    os.environ["IBA_BENCH_SID"] = sid
    return settings, clock, first.enrollment_id or 0, len(steps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        settings, clock, eid, per = build(Path(tmp), args.enrollments)
        built = time.perf_counter() - t0
        app = create_app(settings, session_factory(make_engine(settings.database_url)), clock)
        client = TestClient(app)
        client.cookies.set(cookie_name(settings), os.environ.pop("IBA_BENCH_SID"))
        pages = {"min-uge": "/min-uge", "forloeb": "/forloeb", "et-forloeb": f"/forloeb/{eid}"}
        summary = []
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm
            samples = []
            for _ in range(args.rounds):
                t1 = time.perf_counter()
                r = client.get(path)
                samples.append((time.perf_counter() - t1) * 1e3)
                assert r.status_code == 200
            samples.sort()
            p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
            line = {"page": name, "path": path, "enrollments": args.enrollments,
                    "steps_per_enrollment": per, "rounds": args.rounds,
                    "p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1),
                    "bytes": len(r.content)}  # fmt: skip
            print(json.dumps(line))
            summary.append(f"{name} p95 {p95:.0f} ms")
        load = os.getloadavg()[0]
        print(
            f"workspace with {args.enrollments} enrollments (built in {built:.0f} s): "
            + ", ".join(summary)
            + f"; load average {load:.1f} on {os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
