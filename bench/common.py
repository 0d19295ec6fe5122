"""What every benchmark shares: JSON lines out, a one-line summary, medians of rounds,
the machine it ran on. Run a benchmark alone (``python bench/bench_planning.py``) or all
of them (``python bench/run_all.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))


def machine() -> dict[str, Any]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_1min": round(load, 2) if load is not None else None,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def emit(bench: str, **fields: Any) -> None:
    """One JSON line on stdout."""
    print(json.dumps({"bench": bench, **fields}, ensure_ascii=False, default=str), flush=True)


def summary(bench: str, text: str) -> None:
    """The one-line summary, last line of a benchmark."""
    print(f"SUMMARY {bench}: {text}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def rounds_from_argv(default: int) -> int:
    for arg in sys.argv[1:]:
        if arg.startswith("--rounds="):
            return int(arg.split("=", 1)[1])
    return default


def quick() -> bool:
    """``--quick``: smaller N, for a smoke run (figures are not comparable)."""
    return "--quick" in sys.argv[1:]


def roomy(definition: Any) -> Any:
    """``definition`` with room for every enrollment a benchmark makes (the shipped ones
    hold 15 or so: the rest would wait, with no steps and no mail). A new content hash,
    stored as any definition version is."""
    return definition.model_copy(update={"capacity": 10_000})  # the most a definition allows


PG_ADMIN_URL = os.environ.get(
    "IBA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pg() -> bool:
    """``--pg``: the store on PostgreSQL (``IBA_BENCH_POSTGRES_URL``, a database of our own
    per round, dropped after it) instead of a SQLite file."""
    return "--pg" in sys.argv[1:]


@contextlib.contextmanager
def pg_database(tag: str) -> Iterator[str]:
    """A new, empty PostgreSQL database with a random name; its URL. Dropped on exit."""
    from sqlalchemy import create_engine, text

    name = f"iba_bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
