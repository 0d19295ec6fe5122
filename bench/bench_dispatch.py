"""Dispatch ~2,000 mails to a local SMTP sink through the product's tick, and the same
number of messages with raw aiosmtplib over one connection (the ceiling), in one run.

    python bench/bench_dispatch.py [--rounds=3] [--quick] [--profile]

The sink is aiosmtpd's ``Sink`` handler in its own process (so it does not share this
process's CPU). The store is SQLite in a temporary directory with the product's settings
(WAL, busy timeout). Goal (issue 15): ≥ 500 mails/s through the tick.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from common import emit, median, quick, roomy, rounds_from_argv, summary
from sqlmodel import col, select

from iba_workflow import paths
from iba_workflow.clock import COPENHAGEN, FixedClock
from iba_workflow.definition import load_definition
from iba_workflow.dispatch import run_tick
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
BENCH = "dispatch"
MAILS = 200 if quick() else 2_000
MONDAY = dt.date(2027, 3, 1)
SENDABLE = ("new", "pending")  # the engine writes ``new``; the tick routes and sends them


def start_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return sink, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def seeded_store(folder: Path, smtp_port: int) -> tuple[object, Settings, EngineContext, int]:
    """A store with at least MAILS pending outbox rows (HOP enrollments: invitations and
    tasks for staff)."""
    url = f"sqlite:///{folder / 'iba.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    d = roomy(load_definition(paths.definitions_dir() / "hop.yaml", known_templates=KNOWN))
    clock = FixedClock(dt.datetime.combine(MONDAY, dt.time(8), tzinfo=COPENHAGEN))
    ctx = EngineContext(clock=clock, calendars=calendars_from(paths.calendars_dir()))
    settings = Settings(
        data_dir=folder / "data", database_url=url, smtp_host="127.0.0.1", smtp_port=smtp_port,
        base_url="http://127.0.0.1:8000", dispatch_batch_size=200,
        notify_default="immediate", notify_bundle=False,  # a mail per row, not a digest
    )  # fmt: skip
    with factory() as s:
        for role in d.roles:
            add_staff(s, ctx, name=role.name, email=f"{role.id}@bench.invalid",
                      roles=[role.id], municipality=d.municipality)  # fmt: skip
        s.commit()  # the caller owns the transaction (store.work)
    pending = 0
    n = 0
    while pending < MAILS:
        with factory() as s:
            for _ in range(10):
                ref = f"B-{n:05d}"
                n += 1
                register_citizen(s, ctx, ref=ref, municipality=d.municipality)
                record_visitation(s, ctx, citizen_ref=ref, definition=d, accept=True,
                                  answers={c.id: True for c in d.eligibility},
                                  start=MONDAY + dt.timedelta(days=14))  # fmt: skip
            s.commit()
        with factory() as s:
            pending = len(
                s.exec(select(OutboxRow.id).where(col(OutboxRow.status).in_(SENDABLE))).all()
            )
    return factory, settings, ctx, pending


async def product_tick(factory: object, settings: Settings, ctx: EngineContext) -> int:
    report = await run_tick(factory, ctx, settings, owner="bench")  # type: ignore[arg-type]
    return report.totals.sent


async def raw_aiosmtplib(port: int, count: int, size: int) -> None:
    import aiosmtplib

    body = ("Der er en ny opgave til dig i forløbet. " * 2 + "\n") * max(size // 82, 1)
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        for n in range(count):
            msg = EmailMessage()
            msg["From"] = "noreply@bench.invalid"
            msg["To"] = "iba@bench.invalid"
            msg["Subject"] = f"Opgave {n}"
            msg["Message-ID"] = f"<raw-{n}@bench.invalid>"
            msg.set_content(body)
            await smtp.send_message(msg)


def main() -> None:
    sink, port = start_sink()
    try:
        rounds = rounds_from_argv(3)
        ours, raws = [], []
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                factory, settings, ctx, pending = seeded_store(Path(tmp), port)
                size = 4000  # about the size of a composed task mail with its HTML part
                if "--profile" in sys.argv:
                    from pyinstrument import Profiler

                    with Profiler(async_mode="enabled") as profiler:
                        asyncio.run(product_tick(factory, settings, ctx))
                    print(profiler.output_text(unicode=True, color=False))
                    return
                t0, c0 = time.perf_counter(), time.process_time()
                sent = asyncio.run(product_tick(factory, settings, ctx))
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                assert sent >= pending, (sent, pending)  # the tick may add what became due
                t1 = time.perf_counter()
                asyncio.run(raw_aiosmtplib(port, sent, size))
                raw = time.perf_counter() - t1
            ours.append(sent / wall)
            raws.append(sent / raw)
            emit(BENCH, round=r + 1, mails=sent, tick_wall_s=round(wall, 3),
                 tick_cpu_s=round(cpu, 3), ours_mails_per_s=round(sent / wall, 1),
                 raw_aiosmtplib_mails_per_s=round(sent / raw, 1))  # fmt: skip
        o, w = median(ours), median(raws)
        emit(BENCH, result="median", mails=sent, ours_mails_per_s=round(o, 1),
             raw_aiosmtplib_mails_per_s=round(w, 1), ratio=round(o / w, 3), goal=500,
             goal_reached=o >= 500)  # fmt: skip
        summary(BENCH, f"{sent} mails: the tick {o:.0f} mails/s, raw aiosmtplib {w:.0f} "
                f"mails/s over one connection (ratio {o / w:.2f}); goal ≥ 500 mails/s")  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(10)


if __name__ == "__main__":
    main()
