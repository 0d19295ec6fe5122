"""One writer at a time per SQLite file in this process, in arrival order.

SQLite has one write lock per database. A connection that finds it taken waits in
SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10, … 100 ms) and tries
again: it does not wake when the lock is freed, and a newcomer may take the lock before
a writer that has waited for seconds. Eight concurrent requests in ``iba web`` made POST
p95 1.5 s that way (``bench/bench_http.py``).

So every SQLite connection made by ``store.db.make_engine`` is a :class:`GatedConnection`:
before the first writing statement of a transaction (INSERT, UPDATE, DELETE, REPLACE;
Python's sqlite3 opens the transaction right there) it takes its file's
:class:`WriteGate`, a FIFO lock, and hands it on when the transaction ends (commit,
rollback, close). A waiting writer wakes the moment the one before it is done. Reading
never takes the gate (WAL: readers do not wait for the writer).

The CLI, the dispatcher, the web app and the simulator share it: it is below the unit of
work. **Across processes** (``iba web --workers 2``, a dispatcher beside the web app) the
gate's holder also holds an exclusive ``flock`` on a file beside the database
(``<database>-gate``): the first waiter of each process tries it every 0.2–2 ms, instead
of SQLite's busy handler sleeping up to 100 ms, and the other waiters of the process queue
behind it in arrival order. A process that cannot open that file (a read-only folder)
goes without it, to SQLite's busy handler as before. PostgreSQL is not affected.

Never a new deadlock: a thread that already holds the gate through another connection
goes straight to SQLite (which answers "database is locked" after ``busy_timeout``, as it
did before the gate), and a writer that has waited ``timeout`` seconds goes on to SQLite's
busy handler.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: processes meet SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class FifoSlots:
    """A semaphore that serves in arrival order: ``release`` hands a free slot to the
    longest waiter, so a newcomer never overtakes it. ``capacity`` holders at a time."""

    def __init__(self, capacity: int = 1) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._free = capacity

    def acquire(self, timeout: float | None = None) -> bool:
        with self._mutex:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        if baton.acquire(timeout=-1 if timeout is None else timeout):
            return True
        with self._mutex:
            try:
                self._waiters.remove(baton)
                return False
            except ValueError:  # handed over just as the wait ran out: ours now
                return True

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # the slot goes straight to the waiter
            else:
                self._free += 1

    def __enter__(self) -> FifoSlots:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class WriteGate(FifoSlots):
    """One writer at a time, in this process and (with ``lock_path``) across processes;
    ``owner`` is the thread that holds it."""

    def __init__(self, lock_path: str | None = None) -> None:
        super().__init__(1)
        self.owner: int | None = None
        self.lock_path = lock_path if fcntl is not None else None
        self._fd: int | None = None
        self._fd_pid = 0

    def acquire(self, timeout: float | None = None) -> bool:
        started = time.monotonic()
        if not super().acquire(timeout):
            return False
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        if self._lock_file(left):
            return True
        super().release()  # the other process kept it: SQLite's busy handler decides
        return False

    def release(self) -> None:
        fd = self._file()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        super().release()

    def _file(self) -> int | None:
        """This process's descriptor of the lock file (opened again after a fork: a
        forked child shares its parent's, and with it the lock)."""
        if self.lock_path is None:
            return None
        if self._fd is None or self._fd_pid != os.getpid():
            try:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: no gate across processes
                self.lock_path = None
                return None
            self._fd_pid = os.getpid()
        return self._fd

    def _lock_file(self, timeout: float | None) -> bool:
        fd = self._file()
        if fd is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def gate_for(database: str) -> WriteGate | None:
    """The gate of a database file (one per file in this process); none in memory."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    uri = database.startswith("file:")
    key = database if uri else os.path.realpath(database)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriteGate(None if uri else f"{key}-gate")
        return gate


def _writes(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class GatedConnection(sqlite3.Connection):
    """``sqlite3.connect(path, factory=GatedConnection)``: see the module's text."""

    gate_timeout = 5.0  # seconds; store.db sets it to the busy timeout

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._gate = gate_for(os.fsdecode(database))
        self._holding = False

    def cursor(self, factory: Any = None) -> Any:  # type: ignore[override]
        return super().cursor(factory or _GatedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)  # sqlite3's own skips cursor()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, seq_of_parameters)

    def before_statement(self, sql: str) -> None:
        if self._gate is None or self._holding or not _writes(sql):
            return
        if self._gate.owner == threading.get_ident():
            return  # this thread writes through another connection: SQLite decides
        self._holding = self._gate.acquire(self.gate_timeout)
        if self._holding:
            self._gate.owner = threading.get_ident()

    def after_statement(self) -> None:
        if self._holding and not self.in_transaction:  # autocommit: already done
            self._let_go()

    def _let_go(self) -> None:
        if self._holding and self._gate is not None:
            self._holding = False
            self._gate.owner = None
            self._gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()


class _GatedCursor(sqlite3.Cursor):
    connection: GatedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        self.connection.before_statement(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.after_statement()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:  # type: ignore[override]
        self.connection.before_statement(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection.after_statement()
