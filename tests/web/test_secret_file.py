"""The link secret under data_dir is private from its first byte, and concurrent first
starts agree on one key."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

from iba_workflow.web.secret_file import read_or_create_secret


def _start(
    path: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    barrier.wait()
    out.put(read_or_create_secret(Path(path)))


def test_created_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key = read_or_create_secret(tmp_path / "data" / "secret_key")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode)
    assert mode == 0o600 and len(key) >= 40
    assert read_or_create_secret(tmp_path / "data" / "secret_key") == key
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["secret_key"]


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")  # no fork of a pytest-xdist worker
    n = 6
    barrier, out = ctx.Barrier(n), ctx.Queue()
    path = str(tmp_path / "secret_key")
    procs = [ctx.Process(target=_start, args=(path, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    keys = {out.get(timeout=30) for _ in procs}
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]
