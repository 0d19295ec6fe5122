"""The SQLite write gate (``store.write_gate``): writers in one process queue in arrival
order instead of sleep-polling in SQLite's busy handler; readers never wait for it; a
transaction hands it on however it ends; and it never makes a deadlock of its own."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from iba_workflow.store import make_engine
from iba_workflow.store.write_gate import FifoSlots, GatedConnection, gate_for


def wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_slots_are_served_in_arrival_order() -> None:
    slots = FifoSlots(1)
    slots.acquire()
    order: list[int] = []

    def take(n: int) -> None:
        with slots:
            order.append(n)

    threads = []
    for n in range(6):
        th = threading.Thread(target=take, args=(n,))
        th.start()
        threads.append(th)
        wait_until(lambda n=n: len(slots._waiters) == n + 1, "waiter queued")
    slots.release()
    for th in threads:
        th.join(10)
    assert order == list(range(6))


def test_a_wait_that_runs_out_leaves_the_queue() -> None:
    slots = FifoSlots(2)
    assert slots.acquire() and slots.acquire()
    assert slots.acquire(timeout=0.01) is False
    assert not slots._waiters
    slots.release()
    assert slots.acquire(timeout=0.01) is True


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER)"))
        c.execute(text("INSERT INTO n (id, v) VALUES (1, 0)"))
    yield engine
    engine.dispose()


def test_a_second_writer_waits_at_the_gate_and_writes_after_the_first(store) -> None:  # type: ignore[no-untyped-def]
    gate = gate_for(str(store.url.database))
    assert gate is not None
    events: list[str] = []
    first_writes = threading.Event()

    def second() -> None:
        first_writes.wait(10)
        with store.begin() as c:
            c.execute(text("UPDATE n SET v = v + 10"))
            events.append("second wrote")

    th = threading.Thread(target=second)
    th.start()
    with store.begin() as c:
        c.execute(text("UPDATE n SET v = v + 1"))
        first_writes.set()
        wait_until(lambda: len(gate._waiters) == 1, "the second writer queued at the gate")
        with store.connect() as reader:  # WAL: a reader does not wait for the writer
            assert reader.execute(text("SELECT v FROM n")).scalar() == 0
        events.append("first commits")
    th.join(10)
    assert events == ["first commits", "second wrote"]
    with store.connect() as c:
        assert c.execute(text("SELECT v FROM n")).scalar() == 11
    assert gate._free == 1 and not gate._waiters


def test_rollback_close_and_autocommit_hand_the_gate_on(store) -> None:  # type: ignore[no-untyped-def]
    gate = gate_for(str(store.url.database))
    assert gate is not None
    with store.connect() as c:
        c.execute(text("UPDATE n SET v = 5"))
        assert gate._free == 0 and gate.owner == threading.get_ident()
        c.rollback()
        assert gate._free == 1 and gate.owner is None
    raw = sqlite3.connect(store.url.database, factory=GatedConnection)
    raw.execute("UPDATE n SET v = 6")
    assert gate._free == 0
    raw.close()  # never committed: SQLite rolls back, the gate is free
    assert gate._free == 1
    auto = sqlite3.connect(store.url.database, factory=GatedConnection, isolation_level=None)
    auto.execute("UPDATE n SET v = 7")  # autocommit: done when the statement is
    assert gate._free == 1
    auto.close()
    with store.connect() as c:
        assert c.execute(text("SELECT v FROM n")).scalar() == 7


def test_a_thread_writing_through_two_connections_gets_sqlites_answer(store) -> None:  # type: ignore[no-untyped-def]
    """No deadlock of the gate's own: the second connection of the thread that holds the
    gate goes to SQLite, which says the database is locked (as before the gate)."""
    path = store.url.database
    one = sqlite3.connect(path, factory=GatedConnection, timeout=0.05)
    two = sqlite3.connect(path, factory=GatedConnection, timeout=0.05)
    one.execute("UPDATE n SET v = 1")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        two.execute("UPDATE n SET v = 2")
    two.rollback()
    one.commit()
    two.execute("UPDATE n SET v = 3")
    two.commit()
    one.close()
    two.close()


def test_every_sqlite_connection_of_the_store_is_gated(store) -> None:  # type: ignore[no-untyped-def]
    raw = store.raw_connection()
    assert isinstance(raw.driver_connection, GatedConnection)
    raw.close()
    assert gate_for(":memory:") is None and gate_for("") is None


HOLDER = """
import sys
import sqlite3
from iba_workflow.store.write_gate import GatedConnection

conn = sqlite3.connect(sys.argv[1], factory=GatedConnection, timeout=0.05)
conn.execute("UPDATE n SET v = v + 1")
print("holding", flush=True)
sys.stdin.readline()
conn.commit()
print("committed", flush=True)
"""


def test_a_writer_of_another_process_waits_at_the_gate_not_in_sqlites_busy_handler(
    store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """``iba web --workers 2``: while one process holds a write transaction, a writer of
    another process waits at the gate file and writes once the first commits. SQLite's
    busy handler alone gives up here after 50 ms ("database is locked")."""
    import subprocess
    import sys

    path = str(store.url.database)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(GatedConnection, "gate_timeout", 30.0)
        outcome: list[object] = []

        def write() -> None:
            conn = sqlite3.connect(path, factory=GatedConnection, timeout=0.05)
            try:
                conn.execute("UPDATE n SET v = v * 10")
                conn.commit()
                outcome.append("wrote")
            except sqlite3.Error as exc:
                outcome.append(exc)
            finally:
                conn.close()

        th = threading.Thread(target=write)
        th.start()
        gate = gate_for(path)
        assert gate is not None
        # the writer has taken this process's slot: it is at the file lock (or, without
        # it, already in SQLite, which gives up after 50 ms)
        wait_until(lambda: gate._free == 0 or bool(outcome), "the writer started")
        th.join(0.5)  # ten times SQLite's timeout here: it would have given up by now
        assert th.is_alive() and not outcome, outcome
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"
        th.join(30)
        assert outcome == ["wrote"]
    finally:
        holder.kill()
        holder.wait(10)
    with store.connect() as c:
        assert c.execute(text("SELECT v FROM n")).scalar() == 10  # (0 + 1) × 10: in turn
