"""Killing the process between (or during) any two transactions loses nothing and
duplicates nothing: the next run continues from the store to the same record.

The process dies at the Nth commit, either just before it (the transaction dies
uncommitted, as if the process were killed mid-write) or just after it (the process
dies between two transactions). The simulation is then simply run again on that store,
and the record must equal that of an uninterrupted run.

Dying just after commit N leaves, for the next process, exactly the store as it was
after commit N: a killed process keeps nothing (its session, its clock, what it was
about to do), and a commit in SQLite's WAL survives the death of the process (only a
power loss could undo it under synchronous=NORMAL), so the next process sees exactly
the committed pages. Up to commit N a run that dies there does what the uninterrupted
run does. On SQLite that store is therefore taken as a snapshot of the uninterrupted run,
from the session's ``after_commit`` of commit N, through a separate connection and the
backup API (which copies what a new connection sees, the WAL included, where copying
the file would miss the WAL): commit N is in it, and nothing of commit N + 1, which has
not begun. The next run is then a new Simulation on that snapshot.

Dying inside commit N must leave the store of commit N - 1, row for row: that is all the
next process can see, and what it does from there is what it does after a death just
after commit N - 1 (above). On SQLite this is checked on the same snapshots: the store of
commit N - 1 put back, a new run that dies in the commit of its first transaction that
writes, and every table compared with the snapshot.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import pytest
from engine_helpers import canonical, definition
from sqlalchemy import event
from sqlalchemy.engine import make_url

from iba_workflow import paths
from iba_workflow.engine import calendars_from
from iba_workflow.simulate import Simulation, SimulationScript

SCRIPT = {
    "outcomes": {"evaluering": "forlaengelse", "evaluering@2": "loennede_timer"},
    "pauses": [{"from": "2027-04-05", "to": "2027-04-09"}],
    "late": {"midtvejssamtale": 2},
}


class Crash(Exception):
    """The process dies here."""


class CrashingSessions:
    """Sessions that die at the Nth commit (counted over every session it opened):
    ``before`` it (nothing of that transaction is kept) or ``after`` it (it is kept, and
    the process dies as the next transaction begins)."""

    def __init__(
        self,
        open_session: Any,
        *,
        at: int | None,
        moment: str,
        after_commit: Callable[[int], None] | None = None,
        writes_only: bool = False,
    ) -> None:
        self.open_session = open_session
        self.at = at
        self.moment = moment
        self.after_commit = after_commit  # called with each commit's number, once it is done
        # ``before`` counts only the commits of transactions that wrote (SQLite)
        self.writes_only = writes_only
        self.commits = 0
        self.writing = 0
        self.dying = False

    def __call__(self) -> Any:
        session = self.open_session()
        event.listen(session, "before_commit", self._before_commit)
        event.listen(session, "after_commit", self._after_commit)
        event.listen(session, "after_begin", self._after_begin)
        return session

    def _before_commit(self, session: Any) -> None:
        if self.moment != "before":
            return
        if self.writes_only:
            session.flush()  # what the commit would write, written (not yet committed)
            # pysqlite opens a transaction before the first write: open = it wrote
            if not session.connection().connection.driver_connection.in_transaction:
                return
            self.writing += 1
            if self.writing == self.at:
                raise Crash(f"killed during the commit of write transaction {self.at}")
        elif self.commits + 1 == self.at:
            raise Crash(f"killed during commit {self.at}")

    def _after_commit(self, _session: Any) -> None:
        self.commits += 1
        if self.after_commit is not None:
            self.after_commit(self.commits)
        if self.moment == "after" and self.commits == self.at:
            self.dying = True

    def _after_begin(self, *_args: Any) -> None:
        if self.dying:
            self.dying = False
            raise Crash(f"killed after commit {self.at}")


def _simulation(open_session: Any) -> Simulation:
    return Simulation(
        open_session,
        definition("fagmentor"),
        calendars_from(paths.calendars_dir()),
        dt.date(2027, 3, 1),
        SimulationScript.model_validate(SCRIPT),
    )


def _crash_then_resume(open_session: Any, at: int, moment: str) -> None:
    crashing = CrashingSessions(open_session, at=at, moment=moment)
    try:
        _simulation(crashing).run()
    except Crash:
        pass
    else:  # only dying after the very last commit lets the run finish
        assert moment == "after" and crashing.commits == at
    _simulation(open_session).run()  # the next run, on the same store


SHARDS = 4  # the boundaries are split over 4 tests, so parallel workers share them


@pytest.mark.parametrize("shard", range(SHARDS), ids=lambda n: f"shard{n + 1}of{SHARDS}")
@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_crash_at_any_commit_is_continued_without_loss_or_duplication(
    moment: str, shard: int, store_url: str, db_engine: Any, open_session: Any
) -> None:
    """A Fagmentor run (extension, sick leave, a late meeting) dies at a transaction
    boundary and is run again; the record must equal an uninterrupted run's.

    ``after``, on SQLite: every boundary. The uninterrupted run is made once per shard,
    with a snapshot of the store after each of this shard's commits; for each, a new
    Simulation runs on the snapshot (the next process after a kill just after that
    commit: see the module's text) and must reach the uninterrupted record. A commit
    that changed nothing is the store of the one before it: see _resume_from_snapshots.

    ``before``, on SQLite: every boundary. What dying inside commit N adds is that the
    transaction that died in its commit leaves nothing behind (the rollback path): the
    store must then be row for row, ``sqlite_sequence`` included, the store of commit
    N - 1, whose next run ``after`` has checked. So for each commit N - 1 of this shard,
    the store is put back as the uninterrupted run left it, and a new Simulation on it
    dies inside the commit of its first transaction that writes (what commit N did:
    the run replays the days before without writing); afterwards every table must hold
    exactly what the snapshot holds. See _rollback_on_snapshots.

    On PostgreSQL both moments crash a real run, at every 11th boundary, and the next
    run continues on that store, for time (a snapshot there would be a CREATE DATABASE
    ... TEMPLATE per boundary, no cheaper; and a rolled-back insert still spends its
    sequence's values, so the store after a rollback is not that of commit N - 1).
    Shard n of 4 takes every 4th of a moment's boundaries from the nth on: together the
    four take each one once."""
    sqlite = store_url.startswith("sqlite")
    if moment == "after" and sqlite:
        _resume_from_snapshots(shard, store_url, db_engine)
        return
    if moment == "before" and sqlite:
        _rollback_on_snapshots(shard, store_url, db_engine)
        return
    from sqlmodel import SQLModel

    expected, commits = _reference(db_engine)
    assert commits > 50  # the run really has many transactions to die in
    step = 4 if sqlite else 11
    boundaries = range(1, commits + 1, step)[shard::SHARDS]
    assert boundaries, "every shard has boundaries to die at"
    for at in boundaries:
        _empty(db_engine, SQLModel.metadata)
        _crash_then_resume(open_session, at, moment)
        with open_session() as session:
            got = canonical(session)
        assert got == expected, f"record differs after a crash {moment} commit {at}"


def _resume_from_snapshots(shard: int, store_url: str, db_engine: Any) -> None:
    """Every boundary of this shard (commit N with N - 1 = shard modulo SHARDS): the
    store put back as the uninterrupted run left it after commit N, then the next run.

    A commit that changed nothing (about a fifth of them in this run) leaves byte for
    byte the store of commit N - 1, whose next run is then the same run, from the same
    input; that boundary is checked by N - 1's (another shard's, or for commit 0, the
    empty store, by the uninterrupted run itself) and not run twice."""
    from iba_workflow.store import session_factory

    store = make_url(store_url).database
    assert store, "a SQLite file"
    snapshots: dict[int, sqlite3.Connection] = {}  # in memory, one per boundary that changed
    unchanged: list[int] = []
    with closing(sqlite3.connect(store)) as source:
        previous: dict[int, bytes] = {}

        def snapshot(commit: int) -> None:
            mine = commit > 0 and (commit - 1) % SHARDS == shard
            if not (mine or commit % SHARDS == shard):  # neither N nor N - 1 of one
                return
            saved = sqlite3.connect(":memory:")
            source.backup(saved)  # what a new connection sees: the WAL included
            data = saved.serialize()
            if mine and data != previous.get(commit - 1):
                snapshots[commit] = saved
            else:
                saved.close()
                if mine:
                    unchanged.append(commit)
            previous.clear()
            previous[commit] = data

        snapshot(0)  # the empty store, before the first commit
        expected, commits = _reference(db_engine, after_commit=snapshot)
    assert commits > 50  # the run really has many transactions to die in
    boundaries = sorted([*snapshots, *unchanged])
    assert boundaries == list(range(1, commits + 1)[shard::SHARDS]), "each one, once"
    assert len(snapshots) > len(unchanged), "most commits change the store"
    for at, saved in snapshots.items():
        # The killed process's connections are gone; the next one opens its own. (The
        # engine object is kept only for its cache of compiled SQL, which holds no data:
        # a new engine per boundary would spend a fifth of the time recompiling.)
        db_engine.dispose()
        with closing(saved), closing(sqlite3.connect(store)) as target:
            saved.backup(target)  # the whole file, as commit `at` left it
        _simulation(session_factory(db_engine)).run()  # the next run, after the kill
        with session_factory(db_engine)() as session:
            got = canonical(session)
        assert got == expected, f"record differs after a crash after commit {at}"


def _rollback_on_snapshots(shard: int, store_url: str, db_engine: Any) -> None:
    """Every commit C of this shard (C = shard modulo SHARDS, from 0, the empty store,
    to the last but one): the store put back as the uninterrupted run left it after C;
    a new run dies inside the commit of its first transaction that writes; every table
    must then be exactly as in the snapshot."""
    from iba_workflow.store import session_factory

    store = make_url(store_url).database
    assert store, "a SQLite file"
    snapshots: dict[int, sqlite3.Connection] = {}
    with closing(sqlite3.connect(store)) as source:

        def snapshot(commit: int) -> None:
            if commit % SHARDS == shard:
                saved = sqlite3.connect(":memory:")
                source.backup(saved)  # what a new connection sees: the WAL included
                snapshots[commit] = saved

        snapshot(0)  # the empty store, before the first commit
        _, commits = _reference(db_engine, after_commit=snapshot)
        final = _tables(source)
    assert commits > 50  # the run really has many transactions to die in
    assert sorted(snapshots) == list(range(commits + 1)[shard::SHARDS]), "each one, once"
    died = 0
    for at, saved in snapshots.items():
        with closing(saved):
            before = _tables(saved)
            db_engine.dispose()  # the next process opens its own connections
            with closing(sqlite3.connect(store)) as target:
                saved.backup(target)  # the whole file, as commit `at` left it
        crashing = CrashingSessions(
            session_factory(db_engine), at=1, moment="before", writes_only=True
        )
        try:
            _simulation(crashing).run()
        except Crash:
            died += 1
        else:  # nothing was left to write: that is the finished store
            assert before == final, f"a run after commit {at} finished without writing"
        db_engine.dispose()
        with closing(sqlite3.connect(store)) as after:
            assert _tables(after) == before, f"a write died in its commit after commit {at}"
    assert died >= len(snapshots) - 1, "the runs really died in a commit that wrote"


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (``sqlite_sequence``, the next ids, included)."""
    names = [
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    return {
        name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
        for name in sorted(names)
    }


def _reference(
    db_engine: Any, after_commit: Callable[[int], None] | None = None
) -> tuple[Any, int]:
    """The record of an uninterrupted run, and how many commits it made."""
    from iba_workflow.store import session_factory

    counting = CrashingSessions(
        session_factory(db_engine), at=None, moment="after", after_commit=after_commit
    )
    _simulation(counting).run()
    with session_factory(db_engine)() as session:
        record = canonical(session)
    return record, counting.commits


def _empty(engine: Any, metadata: Any) -> None:
    """Delete every row (the audit log refuses DELETE, so its trigger is bypassed)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
            for table in reversed(metadata.sorted_tables):
                conn.exec_driver_sql(f"DELETE FROM {table.name}")
            conn.exec_driver_sql(
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        else:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")  # fires no row-level trigger


def test_running_a_finished_simulation_again_changes_nothing(open_session: Any) -> None:
    _simulation(open_session).run()
    with open_session() as session:
        first = canonical(session)
    _simulation(open_session).run()
    with open_session() as session:
        assert canonical(session) == first
