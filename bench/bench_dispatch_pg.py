"""Several dispatchers against one PostgreSQL store: ``iba dispatch --once`` in 1, 2 and 4
separate processes over the same outbox, into one SMTP sink that records every
Message-ID (bench/smtp_recorder.py, its own process).

    python bench/bench_dispatch_pg.py [--runners=1,2,4] [--mails=4000] [--quick]

Per runner count: a fresh PostgreSQL database (``IBA_BENCH_POSTGRES_URL``), seeded with
pending outbox rows by the product (HOP enrollments; staff set to ``immediate`` without
bundles, the rows routed once before the runners start), then N ``iba dispatch --once``
processes started together. Reported: mails/s over the sink's window (first to last
message received) and over the whole run (start of the processes to the last one's exit,
Python's start-up included), and whether each outbox row was delivered exactly once
(Message-ID ``<outbox-{id}@…>`` received once for every row marked sent, none twice).
Goal (issue 15): throughput grows with the runners, each mail sent once.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import ROOT, emit, pg_database, quick, roomy, summary
from smtp_recorder import read
from sqlmodel import col, func, select

from iba_workflow import paths
from iba_workflow.clock import FixedClock, SystemClock
from iba_workflow.definition import load_definition
from iba_workflow.dispatch import enqueue_digests, enqueue_due
from iba_workflow.engine import (
    EngineContext,
    add_staff,
    calendars_from,
    record_visitation,
    register_citizen,
)
from iba_workflow.orchestration.server import free_port
from iba_workflow.settings import Settings
from iba_workflow.store import make_engine, session_factory, upgrade
from iba_workflow.store.tables import OutboxRow

KNOWN = paths.known_templates()
BENCH = "dispatch_pg"
SENDABLE = ("new", "pending", "failed", "sending")


def _arg(name: str, default: str) -> str:
    for arg in sys.argv[1:]:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


MAILS = int(_arg("mails", "400" if quick() else "4000"))
RUNNERS = [int(x) for x in _arg("runners", "1,2,4").split(",")]


def environment(url: str, smtp_port: int, data_dir: Path) -> dict[str, str]:
    """What every dispatcher process (and the seeding) is configured with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBA_")}
    env.update(
        IBA_DATABASE_URL=url, IBA_DATA_DIR=str(data_dir), IBA_SMTP_HOST="127.0.0.1",
        IBA_SMTP_PORT=str(smtp_port), IBA_BASE_URL="http://127.0.0.1:8000",
        IBA_DISPATCH_BATCH_SIZE="200", IBA_NOTIFY_DEFAULT="immediate",
        IBA_NOTIFY_BUNDLE="false", IBA_NOTIFY_QUIET_HOURS="false",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )  # fmt: skip
    for key in ("IBA_IDENTITY_KEYS", "IBA_SECRET_KEY"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a dispatcher process reads from ``env``."""
    return Settings.model_validate({k[4:].lower(): v for k, v in env.items() if k[:4] == "IBA_"})


def seed(url: str, env: dict[str, str]) -> int:
    """At least MAILS pending outbox rows, routed as the runners' settings say; their count."""
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    d = roomy(load_definition(paths.definitions_dir() / "hop.yaml", known_templates=KNOWN))
    now = SystemClock().now() - dt.timedelta(minutes=1)  # the runners use the real clock
    ctx = EngineContext(clock=FixedClock(now), calendars=calendars_from(paths.calendars_dir()))
    settings = settings_of(env)
    with factory() as s:
        for role in d.roles:
            add_staff(s, ctx, name=role.name, email=f"{role.id}@bench.invalid",
                      roles=[role.id], municipality=d.municipality)  # fmt: skip
        s.commit()
    pending, n = 0, 0
    while pending < MAILS:
        with factory() as s:
            for _ in range(20):
                ref = f"B-{n:06d}"
                n += 1
                register_citizen(s, ctx, ref=ref, municipality=d.municipality)
                record_visitation(s, ctx, citizen_ref=ref, definition=d, accept=True,
                                  answers={c.id: True for c in d.eligibility},
                                  start=now.date() + dt.timedelta(days=14))  # fmt: skip
            s.commit()
        enqueue_due(factory, ctx, lead_days=settings.new_task_lead_days)
        enqueue_digests(factory, ctx, settings)  # routes the new rows: pending, each a mail
        with factory() as s:
            pending = s.exec(select(func.count()).where(col(OutboxRow.status).in_(SENDABLE))).one()
    engine.dispose()
    return pending


def run(runners: int, sink_port: int, record: Path) -> dict[str, object]:
    with pg_database("dispatch") as url, tempfile.TemporaryDirectory() as tmp:
        env = environment(url, sink_port, Path(tmp))
        rows = seed(url, env)
        already = len(read(str(record)))
        t0 = time.perf_counter()
        command = [sys.executable, "-m", "iba_workflow", "dispatch", "--once"]
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(runners)
        ]
        outputs = [p.communicate(timeout=600)[0].decode(errors="replace") for p in procs]
        wall = time.perf_counter() - t0
        if any(p.returncode for p in procs):
            raise RuntimeError("a dispatcher failed:\n" + "\n".join(outputs))
        time.sleep(0.2)  # the sink's last line
        got = read(str(record))[already:]
        engine = make_engine(url)
        with session_factory(engine)() as s:
            status = Counter(s.exec(select(OutboxRow.status)).all())
            sent_ids = {
                f"<outbox-{i}@" for i in s.exec(
                    select(OutboxRow.id).where(OutboxRow.status == "sent")
                ).all()
            }  # fmt: skip
        engine.dispose()
    mids = [m for _, m in got]
    received = Counter(m.split("@")[0] + "@" for m in mids)
    duplicates = sum(c - 1 for c in received.values() if c > 1)
    window = got[-1][0] - got[0][0] if len(got) > 1 else float("nan")
    exactly_once = duplicates == 0 and set(received) == sent_ids and len(mids) == rows
    return {
        "runners": runners, "outbox_rows": rows, "received": len(mids),
        "duplicates": duplicates, "rows_sent": len(sent_ids),
        "left": {k: v for k, v in status.items() if k != "sent"},
        "exactly_once": exactly_once, "wall_s": round(wall, 3),
        "sink_window_s": round(window, 3),
        "mails_per_s_window": round(len(mids) / window, 1),
        "mails_per_s_wall": round(len(mids) / wall, 1),
    }  # fmt: skip


def profile() -> None:
    """One tick in this process under pyinstrument (seeded as for the runners)."""
    import asyncio

    from pyinstrument import Profiler

    from iba_workflow.dispatch import run_tick

    with pg_database("dispatch") as url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        sink = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtp_recorder.py"), str(port), f"{tmp}/r"]
        )
        env = environment(url, port, Path(tmp))
        seed(url, env)
        settings = settings_of(env)
        engine = make_engine(url)
        ctx = EngineContext(clock=SystemClock(), calendars=calendars_from(paths.calendars_dir()))
        time.sleep(1.0)
        with Profiler(async_mode="enabled") as profiler:
            report = asyncio.run(run_tick(session_factory(engine), ctx, settings, owner="p"))
        print(profiler.output_text(unicode=True, color=False))
        print(report.summary())
        engine.dispose()
        sink.terminate()
        sink.wait(10)


def main() -> None:
    if "--profile" in sys.argv:
        profile()
        return
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "received.txt"
        record.touch()
        port = free_port()
        sink = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtp_recorder.py"), str(port), str(record)]
        )
        try:
            time.sleep(1.0)
            results = []
            for runners in RUNNERS:
                result = run(runners, port, record)
                emit(BENCH, **result)
                results.append(result)
        finally:
            sink.terminate()
            sink.wait(10)
    once = all(r["exactly_once"] for r in results)
    figures = ", ".join(
        f"{r['runners']}: {r['mails_per_s_window']:.0f} mails/s ({r['mails_per_s_wall']:.0f} "
        "with start-up)"
        for r in results
    )
    emit(BENCH, result="all", exactly_once=once, runners=RUNNERS)
    summary(BENCH, f"{results[0]['outbox_rows']}+ mails on PostgreSQL, dispatcher processes "
            f"{figures}; each mail sent exactly once: {once}")  # fmt: skip
    if not once:
        sys.exit(1)


if __name__ == "__main__":
    main()
