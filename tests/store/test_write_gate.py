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
