"""Every benchmark, one after another, each in its own process: ``python bench/run_all.py``
(``--quick`` for a smoke run with small N; other arguments are passed on to each). The
PostgreSQL ones (``bench_lifecycle.py --pg``, ``bench_dispatch_pg.py``, ``bench_scale.py``)
use ``IBA_BENCH_POSTGRES_URL`` (bench/README.md). Prints each
benchmark's JSON lines and summary, then all summaries together."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from common import emit, machine

HERE = Path(__file__).resolve().parent
BENCHES: list[tuple[str, ...]] = [
    ("bench_planning.py",),
    ("bench_lifecycle.py",),
    ("bench_lifecycle.py", "--pg"),
    ("bench_dispatch.py",),
    ("bench_dispatch_pg.py",),
    ("bench_http.py",),
    ("bench_digest.py",),
    ("bench_scale.py",),
]


def main() -> int:
    emit("machine", **machine())
    summaries: list[str] = []
    failed = 0
    for name, *options in BENCHES:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(HERE / name), *options, *sys.argv[1:]],
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stdout.write(done.stdout)
        lines = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY")]
        if done.returncode != 0:
            failed += 1
            sys.stderr.write(done.stderr[-3000:])
            lines.append(f"SUMMARY {name} {' '.join(options)}: FAILED (exit {done.returncode})")
        summaries += [f"{line}  [{time.monotonic() - started:.0f} s]" for line in lines]
    print("\n".join(summaries))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
