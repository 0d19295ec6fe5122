"""Dispatch ~2,000 task mails to a local SMTP sink through the product's tick, and the
same number of messages with raw aiosmtplib over one connection (the ceiling), in one run.

    python bench/bench_dispatch.py [--rounds=3] [--quick] [--profile]

What is measured (issue 15 names *task mails*): HOP enrollments starting on
``START``, staff set to ``immediate`` without bundles (a mail per outbox row). The
enrollments' meeting invitations (with .ics) go out first, on the Monday they are
recorded, in a tick of their own: measured and reported apart (``invitations_*``), not
in the goal's figure. Then the task ticks: Thursday ``START + 4 days`` (the new tasks of the
start measurement and of ``klar_til_praktik``) and Friday (new tasks for the attendance
list and a task, the reminder of ``klar_til_praktik``, the escalation of the measurement):
``new_task``, ``reminder`` and ``escalation`` rows (4 : 1 : 1), each a mail with a signed
link and no .ics. The goal's figure is those two ticks together (mails sent / wall seconds
of the two ticks, which include the tick's ``enqueue_due`` and routing).

The sink is aiosmtpd's ``Sink`` handler in its own process (so it does not share this
process's CPU). The store is SQLite in a temporary directory with the product's settings
(WAL, busy timeout). Goal (issue 15): ≥ 500 task mails/s through the tick.
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
MONDAY = dt.date(2027, 3, 1)  # the enrollments are recorded: their meeting invitations go
START = MONDAY + dt.timedelta(days=14)
TASK_DAYS = (START + dt.timedelta(days=3), START + dt.timedelta(days=4))  # Thursday, Friday
TASK_MAILS_PER_ENROLLMENT = 6  # HOP on those two days: 2 + 4 (counted, not assumed)
TASK_KINDS = ("new_task", "reminder", "escalation")


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
    """A store with enough HOP enrollments for MAILS task mails on TASK_DAYS (their
    meeting invitations wait in the outbox); returns the number of enrollments."""
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
    enrollments = -(-MAILS // TASK_MAILS_PER_ENROLLMENT)
    for first in range(0, enrollments, 10):
        with factory() as s:
            for n in range(first, min(first + 10, enrollments)):
                ref = f"B-{n:05d}"
                register_citizen(s, ctx, ref=ref, municipality=d.municipality)
                record_visitation(s, ctx, citizen_ref=ref, definition=d, accept=True,
                                  answers={c.id: True for c in d.eligibility},
                                  start=START)  # fmt: skip
            s.commit()
    return factory, settings, ctx, enrollments


def at(day: dt.date) -> FixedClock:
    return FixedClock(dt.datetime.combine(day, dt.time(8), tzinfo=COPENHAGEN))


def kinds_since(factory: object, after: int) -> tuple[dict[str, int], int]:
    """Outbox rows sent with an id above ``after``, by kind; and the highest id."""
    with factory() as s:  # type: ignore[operator]
        rows = s.exec(
            select(OutboxRow.id, OutboxRow.kind).where(
                col(OutboxRow.id) > after, OutboxRow.status == "sent"
            )
        ).all()
    found: dict[str, int] = {}
    for _id, kind in rows:
        found[kind] = found.get(kind, 0) + 1
    return found, max([after, *(i for i, _k in rows)])


def timed_tick(factory: object, settings: Settings, ctx: EngineContext) -> tuple[int, float, float]:
    """(mails sent, wall seconds, CPU seconds) of one tick."""
    t0, c0 = time.perf_counter(), time.process_time()
    sent = asyncio.run(product_tick(factory, settings, ctx))
    return sent, time.perf_counter() - t0, time.process_time() - c0


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
        ours, raws, cpus, invites = [], [], [], []
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                factory, settings, ctx, enrollments = seeded_store(Path(tmp), port)
                size = 4000  # about the size of a composed task mail with its HTML part
                ctx.clock = at(MONDAY)  # the invitations: apart from the goal's figure
                inv_sent, inv_wall, inv_cpu = timed_tick(factory, settings, ctx)
                inv_kinds, seen = kinds_since(factory, 0)
                if "--profile" in sys.argv:
                    from pyinstrument import Profiler

                    with Profiler(async_mode="enabled") as profiler:
                        for day in TASK_DAYS:
                            ctx.clock = at(day)
                            asyncio.run(product_tick(factory, settings, ctx))
                    print(profiler.output_text(unicode=True, color=False))
                    return
                sent, wall, cpu = 0, 0.0, 0.0
                for day in TASK_DAYS:
                    ctx.clock = at(day)
                    n, w, c = timed_tick(factory, settings, ctx)
                    sent, wall, cpu = sent + n, wall + w, cpu + c
                kinds, _ = kinds_since(factory, seen)
                assert sent == sum(kinds.values()) and set(kinds) <= set(TASK_KINDS), kinds
                t1 = time.perf_counter()
                asyncio.run(raw_aiosmtplib(port, sent, size))
                raw = time.perf_counter() - t1
            ours.append(sent / wall)
            raws.append(sent / raw)
            cpus.append(cpu / sent * 1000)
            invites.append(inv_sent / inv_wall)
            emit(BENCH, round=r + 1, enrollments=enrollments, mails=sent, kinds=kinds,
                 tick_wall_s=round(wall, 3), tick_cpu_s=round(cpu, 3),
                 cpu_ms_per_mail=round(cpu / sent * 1000, 2),
                 ours_mails_per_s=round(sent / wall, 1),
                 raw_aiosmtplib_mails_per_s=round(sent / raw, 1),
                 invitations=inv_sent, invitation_kinds=inv_kinds,
                 invitations_wall_s=round(inv_wall, 3), invitations_cpu_s=round(inv_cpu, 3),
                 invitations_cpu_ms_per_mail=round(inv_cpu / max(inv_sent, 1) * 1000, 2),
                 invitations_mails_per_s=round(inv_sent / inv_wall, 1))  # fmt: skip
        o, w, c, i = median(ours), median(raws), median(cpus), median(invites)
        emit(BENCH, result="median", mails=sent, ours_mails_per_s=round(o, 1),
             cpu_ms_per_mail=round(c, 2), raw_aiosmtplib_mails_per_s=round(w, 1),
             ratio=round(o / w, 3), invitations_mails_per_s=round(i, 1), goal=500,
             goal_reached=o >= 500)  # fmt: skip
        summary(BENCH, f"{sent} task mails: the tick {o:.0f} mails/s ({c:.2f} ms CPU per "
                f"mail), raw aiosmtplib {w:.0f} mails/s over one connection (ratio "
                f"{o / w:.2f}); goal ≥ 500 mails/s. Meeting invitations (.ics), apart: "
                f"{i:.0f} mails/s")  # fmt: skip
    finally:
        sink.terminate()
        sink.wait(10)


if __name__ == "__main__":
    main()
